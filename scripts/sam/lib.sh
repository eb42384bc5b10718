# shellcheck shell=bash
# Shared settings for scripts/sam/*.sh (sourced, not run).
#
# Everything these scripts run talks to 127.0.0.1 (or a local container bridge) only:
# fake AWS credentials, AWS endpoints on loopback, SAM CLI telemetry off, and SAM CLI's weekly
# "newer version?" check
# (a request to a package registry) suppressed by giving sam a private config directory whose
# metadata says the check was just done.

SAM_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$SAM_SCRIPTS/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
STATE_DIR=$ROOT/.local/sam
mkdir -p "$STATE_DIR"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
export SAM_CLI_TELEMETRY=0
# AWS API calls the tools themselves make go to loopback, never to AWS: `sam local invoke` asks
# STS for the account id (GetCallerIdentity) before every invocation. Here that is refused at
# once (port 1; one attempt, no retry back-off) and sam falls back to its default account id;
# local-invoke-test.sh points it at moto instead. (The function in its container gets its own
# AWS_ENDPOINT_URL via --env-vars; sam passes neither of these two into the container.)
export AWS_ENDPOINT_URL=http://127.0.0.1:1 AWS_MAX_ATTEMPTS=1
# Private SAM CLI config dir (GlobalConfig honours __SAM_CLI_APP_DIR): telemetry disabled and
# the version check considered done, so sam makes no request of its own.
export __SAM_CLI_APP_DIR=$STATE_DIR/sam-cli-config
if [[ ! -f $__SAM_CLI_APP_DIR/metadata.json ]]; then
  mkdir -p "$__SAM_CLI_APP_DIR"
  printf '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}\n' \
    >"$__SAM_CLI_APP_DIR/metadata.json"
fi
# cargo-lambda (and the zig it ships) must be found by `sam build`.
export PATH="$VENV/bin:$PATH"

# shellcheck disable=SC2034 # used by the scripts that source this file
SAM=$VENV/bin/sam

require_venv() {
  local tool
  for tool in "$@"; do
    [[ -x $VENV/bin/$tool ]] || { echo "$(basename "$0"): $VENV/bin/$tool is missing: run \`make setup\`" >&2; exit 1; }
  done
}

# Prints elapsed seconds since $1 (a `date +%s.%N` value).
elapsed() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1fs", e - s }'; }
