#!/usr/bin/env bash
# Side-by-side Lambda benchmark (never part of the test suite): the same job (verify the
# Salesloft signature, conditional PutItem, SQS send) as this function, a bare Rust floor,
# a Node.js 20 peer and a Python/Powertools peer, each under aws-lambda-rie against one moto
# server on 127.0.0.1. Builds what is missing, runs, prints a Markdown table and writes it to
# bench/results/lambda-<date>.md (committed), and the raw data of the run to
# bench/results/raw/lambda-<date>.json (gitignored). See bench/lambda/README.md.
#
#   bench/lambda/run.sh                       # build (cached) + run: cold 12, warm 1000 per peer
#   COLD=10 WARM=300 bench/lambda/run.sh      # quicker
#   SKIP_BUILD=1 bench/lambda/run.sh          # measure the bootstrap already in target/lambda
#   PEERS=this,node bench/lambda/run.sh       # a subset
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export BENCH=$(dirname "$HERE")
export REPO=$(dirname "$BENCH")
cd "$REPO"
source "$HERE/build.sh"

COLD=${COLD:-12}
WARM=${WARM:-1000}
WARMUP=${WARMUP:-10}
PEERS=${PEERS:-floor,this,node,python}

check_prereqs
[[ ",$PEERS," == *,this,* ]] && build_this
[[ ",$PEERS," == *,floor,* ]] && build_floor
[[ ",$PEERS," == *,node,* ]] && build_node
[[ ",$PEERS," == *,python,* ]] && build_python

say "measuring ($PEERS): $COLD cold starts, $WARMUP+$WARM warm invocations each"
# Not niced: the measurement should not queue behind other work any more than it must.
exec "$REPO/.venv/bin/python" "$HERE/harness/run_bench.py" --cold "$COLD" --warm "$WARM" --warmup "$WARMUP" --peers "$PEERS"
