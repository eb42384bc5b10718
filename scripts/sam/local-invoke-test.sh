#!/usr/bin/env bash
# End-to-end test of the built function under `sam local invoke` (the Lambda Runtime Interface
# Emulator in a container), against moto on 127.0.0.1. No AWS account; fake credentials.
#
#   scripts/sam/local-invoke-test.sh
#   REBUILD=1 scripts/sam/local-invoke-test.sh    # run scripts/sam/build.sh even if a build exists
#   KEEP=1 scripts/sam/local-invoke-test.sh       # keep the work dir (sam output per invocation)
#
# Steps:
#  1. container engine (scripts/sam/container-engine.sh: Docker, or a podman service it starts),
#     the build (reused when .aws-sam/build/WebhookFunction/bootstrap exists, else
#     scripts/sam/build.sh) and the base image (scripts/sam/base-image.sh: a stand-in unless the
#     real image is present);
#  2. moto_server on a free 127.0.0.1 port, with the function's table and queues (created by
#     tools/local_stack.py, the one definition of the local resources) and a Secrets Manager
#     secret {"salesloft": ["sl_test_callback_token_0123456789"]} (tools/sam/stack.py setup);
#  3. tools/sam/loopback_relay.py on the engine's bridge gateway, forwarding to moto: sam runs the
#     function in a container on the engine's default bridge (podman 4.3's Docker API gives
#     sam's containers "bridge" whatever `--docker-network` says), where the host's 127.0.0.1
#     is out of reach; the function's AWS_ENDPOINT_URL is http://<gateway>:<relay port>;
#  4. a local-only copy of the built template that also declares AWS_ENDPOINT_URL and
#     SALESLOFT_SECRETS (sam local invoke passes only variables the template declares), in the
#     work dir; template.yaml is not changed;
#  5. sam local invoke for each sample, asserting the response's statusCode (and `error`), then
#     exactly the expected messages on the queue (attributes provider/event_type/event_id);
#     then one invocation configured with SECRET_ARN instead of SALESLOFT_SECRETS.
# Everything it started is stopped on exit, including the podman service if it started it.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv sam moto_server python
cd "$ROOT" || exit 1

TOKEN=sl_test_callback_token_0123456789
PY=$VENV/bin/python
STACK=(timeout 60 "$PY" tools/sam/stack.py)
INVOKE_TIMEOUT=${INVOKE_TIMEOUT:-180}
T_START=$(date +%s.%N)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sam-local-invoke.XXXXXX")
MOTO_PID="" RELAY_PID="" ENGINE_STARTED=0

stop_pid() { # pid name
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_pid "$RELAY_PID"
  stop_pid "$MOTO_PID"
  if ((ENGINE_STARTED)); then "$SAM_SCRIPTS/container-engine.sh" stop || true; fi
  if [[ -n ${KEEP:-} ]]; then echo "local-invoke-test: work dir kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

step() { echo; echo "== $*"; }
die() { echo "local-invoke-test: $*" >&2; exit 1; }

# --- 1. engine, build, base image ----------------------------------------------------------
step "container engine"
t0=$(date +%s.%N)
# Stop at the end only what this run started: container-engine.sh starts a podman service only
# when no engine answers.
[[ $("$SAM_SCRIPTS/container-engine.sh" status 2>/dev/null) == none ]] && ENGINE_STARTED=1
DOCKER_HOST=$("$SAM_SCRIPTS/container-engine.sh") || die "no container engine"
export DOCKER_HOST
echo "DOCKER_HOST=$DOCKER_HOST ($(elapsed "$t0"))"

step "build"
t0=$(date +%s.%N)
BOOTSTRAP=.aws-sam/build/WebhookFunction/bootstrap
if [[ -n ${REBUILD:-} || ! -f $BOOTSTRAP || ! -f .aws-sam/build/template.yaml ]]; then
  ARCH=x86_64 "$SAM_SCRIPTS/build.sh" WebhookFunction || die "build failed"
else
  newer=$(find src crates Cargo.toml Cargo.lock template.yaml -newer "$BOOTSTRAP" -type f 2>/dev/null | wc -l)
  echo "reusing $BOOTSTRAP (built $(date -r "$BOOTSTRAP" '+%F %T'))"
  ((newer == 0)) || echo "note: $newer source file(s) changed since; REBUILD=1 to rebuild"
fi
echo "($(elapsed "$t0"))"

step "base image"
t0=$(date +%s.%N)
"$SAM_SCRIPTS/base-image.sh" || die "base image failed"
echo "($(elapsed "$t0"))"

# --- 2. moto -------------------------------------------------------------------------------
step "moto"
t0=$(date +%s.%N)
MOTO_PORT=$("${STACK[@]}" free-port)
ENDPOINT=http://127.0.0.1:$MOTO_PORT
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 "$ENDPOINT/moto-api/" && break
  kill -0 "$MOTO_PID" 2>/dev/null || die "moto_server exited: $(tail -n 5 "$WORK/moto.log")"
  sleep 0.2
done
curl -s -o /dev/null --max-time 2 "$ENDPOINT/moto-api/" || die "moto_server does not answer at $ENDPOINT"
"${STACK[@]}" setup --endpoint "$ENDPOINT" --token "$TOKEN" --out "$WORK/stack.json" || die "stack setup failed"
stack_value() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/stack.json" "$1"; }
# sam's own AWS call (STS GetCallerIdentity for the account id) goes to moto too.
export AWS_ENDPOINT_URL=$ENDPOINT
TABLE_NAME=$(stack_value table_name)
QUEUE_URL=$(stack_value queue_url)
SECRET_ARN=$(stack_value secret_arn)
echo "moto at $ENDPOINT (pid $MOTO_PID) ($(elapsed "$t0"))"

# --- 3. relay from the container bridge to moto --------------------------------------------
step "relay"
read -r GATEWAY SUBNET < <("${STACK[@]}" bridge) || die "cannot find the engine's bridge network"
"$PY" tools/sam/loopback_relay.py --listen "$GATEWAY:0" --target "127.0.0.1:$MOTO_PORT" \
  --allow "$SUBNET" --port-file "$WORK/relay.port" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 50); do [[ -s $WORK/relay.port ]] && break; sleep 0.1; done
[[ -s $WORK/relay.port ]] || die "relay did not start: $(cat "$WORK/relay.log")"
FUNCTION_ENDPOINT=http://$GATEWAY:$(cat "$WORK/relay.port")
echo "function endpoint $FUNCTION_ENDPOINT -> $ENDPOINT (containers in $SUBNET only)"

# --- 4. local-only template and env files --------------------------------------------------
"${STACK[@]}" template --built .aws-sam/build/template.yaml --out "$WORK/template/template.yaml" \
  || die "cannot derive the local template"
# SPOOL_BUCKET "": no spool here (sam local would resolve the template's !Ref SpoolBucket to
# the logical id "SpoolBucket", which is no bucket name, and the function would not start).
write_env() { # file secrets secret_arn
  "$PY" - "$1" "$FUNCTION_ENDPOINT" "$TABLE_NAME" "$QUEUE_URL" "$2" "$3" <<'PY'
import json, sys
path, endpoint, table, queue, secrets, arn = sys.argv[1:]
json.dump({"WebhookFunction": {
    "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": table, "QUEUE_URL": queue, "ROUTES": "",
    "SALESLOFT_SECRETS": secrets, "SECRET_ARN": arn,
    "SALESLOFT_THIRD_PARTY_TIMESTAMPED": "false", "DEDUP_TTL_SECONDS": "604800",
    "SPOOL_BUCKET": ""}}, open(path, "w"), indent=2)
PY
}
write_env "$WORK/env-secrets.json" "$TOKEN" ""
write_env "$WORK/env-secret-arn.json" "" "$SECRET_ARN"

# --- 5. invocations ------------------------------------------------------------------------
declare -a RESULTS=()
FAILURES=0
N=0
invoke() { # event expect_status env_file label [expect_error]
  local event=$1 expect=$2 env=$3 label=$4 expect_error=${5:-}
  N=$((N + 1))
  local out=$WORK/invoke-$N.out err=$WORK/invoke-$N.err t0 rc verdict
  echo
  echo "-- [$N] $event ($label): expect $expect${expect_error:+ $expect_error}"
  t0=$(date +%s.%N)
  timeout "$INVOKE_TIMEOUT" "$SAM" local invoke WebhookFunction \
    -t "$WORK/template/template.yaml" -e "$event" \
    --skip-pull-image --docker-network host \
    --env-vars "$env" --parameter-overrides Architecture=x86_64 >"$out" 2>"$err"
  rc=$?
  if "${STACK[@]}" response --stdout "$out" --expect "$expect" ${expect_error:+--expect-error "$expect_error"}; then
    verdict=PASS
  else
    verdict=FAIL
    FAILURES=$((FAILURES + 1))
    echo "   sam exit $rc; last lines of its stderr:"
    tail -n 15 "$err" | sed 's/^/   | /'
  fi
  # The function's own log lines (JSON) and the emulator's REPORT line.
  grep -E '^\{"level"|^REPORT' "$err" | sed 's/^/   > /' | cut -c1-220
  RESULTS+=("$(printf '%-4s %-48s %-16s %3s  %6s' "$verdict" "$event" "$label" "$expect" "$(elapsed "$t0")")")
}
check_queue() { # label files...
  local label=$1; shift
  echo
  echo "-- queue after $label: expect ${#@} message(s)"
  if "${STACK[@]}" queue --endpoint "$ENDPOINT" --queue-url "$QUEUE_URL" --expect-events "$@"; then
    RESULTS+=("$(printf '%-4s %-48s %-16s %3s' PASS "queue: $*" "$label" "${#@}")")
  else
    FAILURES=$((FAILURES + 1))
    RESULTS+=("$(printf '%-4s %-48s %-16s %3s' FAIL "queue: $*" "$label" "${#@}")")
  fi
}

step "sam local invoke (SALESLOFT_SECRETS)"
invoke events/salesloft/person_updated.json 202 "$WORK/env-secrets.json" SALESLOFT_SECRETS
invoke events/salesloft/person_updated.json 200 "$WORK/env-secrets.json" "SALESLOFT_SECRETS"
invoke events/cases/bad_signature.json 401 "$WORK/env-secrets.json" SALESLOFT_SECRETS invalid_signature
invoke events/cases/missing_event_header.json 400 "$WORK/env-secrets.json" SALESLOFT_SECRETS missing_event_type
invoke events/salesloft/account_created.json 202 "$WORK/env-secrets.json" SALESLOFT_SECRETS
check_queue SALESLOFT_SECRETS events/salesloft/person_updated.json events/salesloft/account_created.json

step "sam local invoke (SECRET_ARN)"
invoke events/salesloft/cadence_created.json 202 "$WORK/env-secret-arn.json" SECRET_ARN
check_queue SECRET_ARN events/salesloft/cadence_created.json

# --- summary -------------------------------------------------------------------------------
echo
echo "== summary (total $(elapsed "$T_START"))"
printf '%s\n' "${RESULTS[@]}"
if ((FAILURES)); then
  echo "local-invoke-test: $FAILURES check(s) FAILED"
  exit 1
fi
echo "local-invoke-test: all passed"
