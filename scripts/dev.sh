#!/usr/bin/env bash
# Local development loop: moto (DynamoDB + SQS) + `cargo lambda watch` serving the function
# as a Function URL on http://127.0.0.1:$WATCH_PORT/lambda-url/webhook/<path>.
#
#   make dev                      # usual entry point (runs `make setup` first)
#   MOTO_PORT=4570 WATCH_PORT=9100 scripts/dev.sh
#
# Starts moto_server on 127.0.0.1:$MOTO_PORT unless something already listens there (and then
# stops it on exit, but only if it started it), creates the table and queues with
# tools/local_stack.py, builds the function once, and runs `cargo lambda watch` in the
# foreground until Ctrl-C. Optional settings for the function, when set in the environment:
# SALESLOFT_SECRETS (replaces the test token), ROUTES, DEDUP_TTL_SECONDS, MAX_BODY_BYTES and the
# other variables listed in PASS_THROUGH below. FIFO=1 also creates the FIFO queue
# salesloft-webhooks-audit.fifo (for a ROUTES entry); CONSUMER_TABLE=1 also creates the
# example consumer's idempotency table salesloft-webhooks-consumer. tools/local_stack.py is
# the one definition of these resources. Nothing here talks to anything but 127.0.0.1; the
# AWS credentials are fake.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

VENV=${VENV:-.venv}
MOTO_PORT=${MOTO_PORT:-4566}
WATCH_PORT=${WATCH_PORT:-9000}
FUNCTION=webhook
TEST_TOKEN=sl_test_callback_token_0123456789
LOCAL_DIR=$ROOT/.local
ENDPOINT=http://127.0.0.1:$MOTO_PORT

PY=$VENV/bin/python
for tool in "$PY" "$VENV/bin/moto_server" "$VENV/bin/cargo-lambda"; do
  [[ -x $tool ]] || { echo "dev: $tool is missing: run \`make setup\`" >&2; exit 1; }
done
command -v cargo >/dev/null || { echo "dev: cargo is not on PATH" >&2; exit 1; }

mkdir -p "$LOCAL_DIR"

# Fake credentials: the AWS SDKs need some, and moto accepts anything.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=$ENDPOINT
unset AWS_PROFILE AWS_SESSION_TOKEN

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

MOTO_PID=""
WATCH_PID=""

# True while $1 runs (a zombie, i.e. exited but not yet reaped, counts as stopped).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# Stops process group $1 (a child started with setsid): SIGTERM, then SIGKILL after 5 s.
stop_group() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  # Ignore further signals until cleanup is done: on SIGTERM, GNU make also sends SIGTERM to
  # its children, so a second one usually follows the first.
  trap '' INT TERM HUP
  trap - EXIT
  if [[ -n $WATCH_PID ]]; then
    stop_group "$WATCH_PID"
  fi
  if [[ -n $MOTO_PID ]]; then
    echo "dev: stopping moto_server (pid $MOTO_PID)"
    stop_group "$MOTO_PID"
    rm -f "$LOCAL_DIR/moto.pid"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if listening "$WATCH_PORT"; then
  echo "dev: something already listens on 127.0.0.1:$WATCH_PORT (another \`make dev\`?); set WATCH_PORT=..." >&2
  exit 1
fi

# --- moto ------------------------------------------------------------------------------
if listening "$MOTO_PORT"; then
  echo "dev: using the server already listening on $ENDPOINT (left running on exit)"
else
  echo "dev: starting moto_server on $ENDPOINT (log: .local/moto.log)"
  # Own session/process group, so that it can be stopped as a whole and a Ctrl-C meant for
  # cargo lambda does not race the cleanup.
  # moto with serialised request handling: conditional writes atomic, as in DynamoDB.
  setsid "$PY" tools/moto_serial.py -H 127.0.0.1 -p "$MOTO_PORT" >>"$LOCAL_DIR/moto.log" 2>&1 &
  MOTO_PID=$!
  echo "$MOTO_PID" >"$LOCAL_DIR/moto.pid"
fi

# Waits until the endpoint answers (no delay once it does), then creates the table and queues
# (idempotent).
stack_args=(--endpoint "$ENDPOINT" --wait 30 --env-out "$LOCAL_DIR/stack.env")
[[ -n ${FIFO:-} ]] && stack_args+=(--fifo)
[[ -n ${CONSUMER_TABLE:-} ]] && stack_args+=(--consumer-table)
"$PY" tools/local_stack.py "${stack_args[@]}"
# shellcheck disable=SC1091
source "$LOCAL_DIR/stack.env"   # TABLE_NAME, QUEUE_URL, DLQ_URL[, FIFO_QUEUE_URL, CONSUMER_TABLE_NAME]

# --- the function's environment ----------------------------------------------------------
ENV_FILE=$LOCAL_DIR/watch.env
PASS_THROUGH=(ROUTES DEDUP_TTL_SECONDS MAX_BODY_BYTES
  SALESOS_SECRETS STANDARD_WEBHOOKS_SECRETS SALESLOFT_THIRD_PARTY_TIMESTAMPED
  SALESLOFT_TOLERANCE_SECONDS STANDARD_WEBHOOKS_TOLERANCE_SECONDS
  SECRET_ARN SECRET_REFRESH_SECONDS)
{
  echo "# written by scripts/dev.sh; read by cargo lambda watch --env-file"
  echo "TABLE_NAME=$TABLE_NAME"
  echo "QUEUE_URL=$QUEUE_URL"
  # The spool: deliveries that cannot finish go to the local bucket (`make redrive-spool`).
  echo "SPOOL_BUCKET=${SPOOL_BUCKET:-}"
  echo "SALESLOFT_SECRETS=${SALESLOFT_SECRETS:-$TEST_TOKEN}"
  echo "AWS_ENDPOINT_URL=$ENDPOINT"
  echo "AWS_ACCESS_KEY_ID=test"
  echo "AWS_SECRET_ACCESS_KEY=test"
  echo "AWS_REGION=us-east-1"
  echo "AWS_DEFAULT_REGION=us-east-1"
  echo "RUST_LOG=${RUST_LOG:-info}"
  for name in "${PASS_THROUGH[@]}"; do
    # Single quotes keep JSON (commas, double quotes) intact in the env file.
    if [[ -n ${!name:-} ]]; then echo "$name='${!name}'"; fi
  done
} >"$ENV_FILE"

# Build once up front so compile errors show here and the first request is not slowed down
# by the build (cargo lambda watch runs `cargo run`, which then only starts the binary).
echo "dev: building the function (cargo build --bin $FUNCTION)"
cargo build --bin "$FUNCTION"

URL=http://127.0.0.1:$WATCH_PORT/lambda-url/$FUNCTION
mk_ports=""
[[ $MOTO_PORT != 4566 ]] && mk_ports+=" MOTO_PORT=$MOTO_PORT"
[[ $WATCH_PORT != 9000 ]] && mk_ports+=" WATCH_PORT=$WATCH_PORT"
cat <<EOF

================================================================================
 salesloft-webhooks: local dev
   function URL   $URL/salesloft    (also $URL/ and $URL/health)
   test token     $TEST_TOKEN  (SALESLOFT_SECRETS)
   table          $TABLE_NAME
   queue          $QUEUE_URL
   DLQ            $DLQ_URL
   moto           $ENDPOINT   (log: .local/moto.log)
   function env   .local/watch.env

 In another terminal:
   make send$mk_ports
   make send$mk_ports EVENT=events/salesloft/person_created.json
   make queue$mk_ports
================================================================================

EOF

# --- cargo lambda watch (foreground until Ctrl-C) ----------------------------------------
# Not `exec`ed, so that the trap above can stop moto afterwards; run in its own process
# group so that it and the function it spawns are stopped together.
setsid "$VENV/bin/cargo-lambda" lambda watch \
  --bin "$FUNCTION" \
  --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
  --env-file "$ENV_FILE" &
WATCH_PID=$!
wait "$WATCH_PID"
