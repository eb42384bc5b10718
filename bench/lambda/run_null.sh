#!/usr/bin/env bash
# The side-by-side Lambda benchmark in four backend settings (issue 14): moto plain, moto TLS,
# null-AWS plain, null-AWS TLS; plus the AWS_LC_SYS_NO_JITTER_ENTROPY lever on and off in the
# null-AWS TLS setting, and the null-AWS-vs-moto fidelity check. Never part of the test suite.
#
#   bench/lambda/run_null.sh                        # build (cached) + everything
#   SETTINGS="null-tls" bench/lambda/run_null.sh    # a subset of the settings
#   COLD=10 WARM=300 JITTER=0 CHECK=0 bench/lambda/run_null.sh
#   SKIP_BUILD=1 ...                                # as run.sh: reuse target/lambda/webhook/bootstrap
#
# Outputs: bench/results/lambda-<setting>-<UTC stamp>.md (+ raw JSON under bench/results/raw/),
# bench/results/lambda-jitter-<stamp>.md, bench/results/null-aws-check-<stamp>.md.
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
SETTINGS=${SETTINGS:-moto-plain moto-tls null-plain null-tls}
JITTER=${JITTER:-1}
CHECK=${CHECK:-1}
STAMP=${STAMP:-$(date -u +%Y-%m-%dT%H%M)}
PY="$REPO/.venv/bin/python"
H="$HERE/harness"

check_prereqs
[[ ",$PEERS," == *,this,* ]] && build_this
[[ ",$PEERS," == *,floor,* ]] && build_floor
[[ ",$PEERS," == *,node,* ]] && build_node
[[ ",$PEERS," == *,python,* ]] && build_python
"$HERE/tls/make_certs.sh" "$BUILD_DIR/tls" >/dev/null

# This function with AWS-LC's CPU-jitter entropy ON: the same build with the .cargo/config.toml
# setting overridden from the environment (cargo's [env] does not override a set variable), in
# its own target dir so it never mixes with target/.
if [ "$JITTER" = 1 ]; then
  say "this function, AWS_LC_SYS_NO_JITTER_ENTROPY=0 (separate target dir bench/.build/target-jitter)"
  (AWS_LC_SYS_NO_JITTER_ENTROPY=0 CARGO_TARGET_DIR="$BUILD_DIR/target-jitter" PATH="$REPO/.venv/bin:$PATH" \
     $NICE "$REPO/.venv/bin/cargo-lambda" lambda build --release --bin webhook)
  mkdir -p "$BUILD_DIR/webhook-jitter"
  cp "$BUILD_DIR/target-jitter/lambda/webhook/bootstrap" "$BUILD_DIR/webhook-jitter/bootstrap"
fi

if [ "$CHECK" = 1 ]; then
  say "null-AWS vs moto: the same calls, the same answers?"
  { "$PY" "$H/check_null_aws.py"; echo; "$PY" "$H/check_null_aws.py" --tls; } | tee "$BENCH/results/null-aws-check-$STAMP.md"
fi

for s in $SETTINGS; do
  say "setting $s: $PEERS, $COLD cold starts, $WARMUP+$WARM warm invocations each"
  "$PY" "$H/run_settings.py" --setting "$s" --peers "$PEERS" --cold "$COLD" --warm "$WARM" --warmup "$WARMUP" \
    --md "$BENCH/results/lambda-$s-$STAMP.md" --raw "$BENCH/results/raw/lambda-$s-$STAMP.json"
done

if [ "$JITTER" = 1 ]; then
  say "jitter-entropy lever, null-tls: this (off, as shipped) vs thisjit (on)"
  "$PY" "$H/run_settings.py" --setting null-tls --peers this,thisjit --cold "${JITTER_COLD:-20}" --warm "${JITTER_WARM:-300}" \
    --warmup "$WARMUP" --md "$BENCH/results/lambda-jitter-null-tls-$STAMP.md" --raw "$BENCH/results/raw/lambda-jitter-null-tls-$STAMP.json"
fi
