#!/usr/bin/env bash
# This function only: warm latency (p50 over N >= 50 invocations per point) against payload
# size (1 KB .. MAX_BODY_BYTES) and against the number of SQS destinations (1, 2, 5, 10 via
# ROUTES), under aws-lambda-rie against moto on 127.0.0.1. Writes the tables to
# bench/results/scaling-<date>.md and the plot to bench/results/scaling-<date>.png (or .svg
# without matplotlib), both committed, from the raw data of the run,
# bench/results/raw/scaling-<date>.json (gitignored). See bench/lambda/README.md.
#
#   bench/lambda/scaling.sh            # N=60 per point
#   N=100 SKIP_BUILD=1 bench/lambda/scaling.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH=$(dirname "$HERE")
export REPO=$(dirname "$BENCH")
cd "$REPO"
source "$HERE/build.sh"

N=${N:-60}
WARMUP=${WARMUP:-5}

check_prereqs
build_this
build_python   # only for bench/.venv's matplotlib (the plot)

say "measuring: payload sizes and destinations, $N invocations per point"
STAMP=$(date -u +%Y-%m-%d)
MD="$BENCH/results/scaling-$STAMP.md"
RAW="$BENCH/results/raw/scaling-$STAMP.json"   # gitignored
"$REPO/.venv/bin/python" "$HERE/harness/scaling.py" --n "$N" --warmup "$WARMUP" --md "$MD" --raw "$RAW"
PLOT_PY="$BENCH/.venv/bin/python"
[ -x "$PLOT_PY" ] || PLOT_PY="$REPO/.venv/bin/python"   # no matplotlib there: SVG by hand
"$PLOT_PY" "$HERE/harness/plot_scaling.py" "$RAW" --out-dir "$BENCH/results"
