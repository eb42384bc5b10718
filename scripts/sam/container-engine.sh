#!/usr/bin/env bash
# Makes a Docker-API container engine available for `sam local invoke` and prints the value
# to use as DOCKER_HOST (only that, on stdout; progress goes to stderr):
#
#   export DOCKER_HOST=$(scripts/sam/container-engine.sh)
#   scripts/sam/container-engine.sh stop     # stop the podman service if this script started it
#   scripts/sam/container-engine.sh status   # print the engine kind (docker|podman) and socket
#
# 1. If `docker info` works (a real Docker engine, or DOCKER_HOST already pointing at one), use it.
# 2. Otherwise use Debian's podman as the engine: install `podman` and `runc` with apt-get
#    (only if missing), and run `podman system service` on
#    unix:///run/podman/podman.sock with CONTAINERS_CONF=scripts/sam/containers.conf (project-local:
#    nothing under /etc is changed; see that file for why each setting is there) unless that
#    socket already answers. The service runs in the background (own session) until
#    `container-engine.sh stop`; its log and pid are in .local/sam/.
#
# Idempotent: a second run finds the socket answering and only prints it. Needs root for apt-get
# and for the rootful podman socket under /run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE_DIR=$ROOT/.local/sam
PODMAN_SOCK=/run/podman/podman.sock
PODMAN_HOST=unix://$PODMAN_SOCK
PID_FILE=$STATE_DIR/podman-service.pid
LOG_FILE=$STATE_DIR/podman-service.log
export CONTAINERS_CONF=$HERE/containers.conf

log() { echo "container-engine: $*" >&2; }

# GET /_ping on a unix socket; true when the engine answers "OK".
ping_socket() {
  local sock=$1
  [[ -S $sock ]] || return 1
  if command -v curl >/dev/null; then
    [[ $(curl -s --max-time 3 --unix-socket "$sock" http://d/_ping 2>/dev/null) == OK ]]
  else
    python3 - "$sock" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
data = b""
while chunk := s.recv(4096):
    data += chunk
sys.exit(0 if data.endswith(b"OK") else 1)
PY
  fi
}

docker_works() {
  command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1
}

stop_service() {
  if [[ -f $PID_FILE ]]; then
    local pid
    pid=$(cat "$PID_FILE")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q podman "/proc/$pid/cmdline" 2>/dev/null; then
      log "stopping the podman service (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
  else
    log "no podman service started by this script is running"
  fi
}

case "${1:-start}" in
  stop) stop_service; exit 0 ;;
  status)
    if ping_socket "$PODMAN_SOCK"; then echo "podman $PODMAN_HOST"
    elif docker_works; then echo "docker ${DOCKER_HOST:-unix:///var/run/docker.sock}"
    else echo "none"; exit 1; fi
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

# --- 1. a working Docker engine ------------------------------------------------------------
# (Skipped when DOCKER_HOST already names our podman socket: handled below, same answer.)
if [[ ${DOCKER_HOST:-} != "$PODMAN_HOST" ]] && docker_works; then
  log "docker info works; using it"
  echo "${DOCKER_HOST:-unix:///var/run/docker.sock}"
  exit 0
fi

# --- 2. podman ------------------------------------------------------------------------------
if ping_socket "$PODMAN_SOCK"; then
  if [[ ! -f $PID_FILE ]]; then
    log "note: $PODMAN_SOCK answers but was not started by this script; its containers.conf may" \
        "lack the settings in $CONTAINERS_CONF"
  fi
  log "podman service already answering on $PODMAN_SOCK"
  echo "$PODMAN_HOST"
  exit 0
fi

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { log "need root to apt-get install ${missing[*]}"; exit 1; }
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
fi

mkdir -p "$STATE_DIR" "$(dirname "$PODMAN_SOCK")"
[[ -e $PODMAN_SOCK ]] && rm -f "$PODMAN_SOCK" # stale: it did not answer
log "starting podman system service on $PODMAN_HOST (log: ${LOG_FILE#"$ROOT"/})"
setsid podman system service --time=0 "$PODMAN_HOST" </dev/null >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"

for _ in $(seq 150); do
  if ping_socket "$PODMAN_SOCK"; then
    log "podman service answering (pid $(cat "$PID_FILE"))"
    echo "$PODMAN_HOST"
    exit 0
  fi
  kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
  sleep 0.2
done
log "the podman service did not come up; last lines of $LOG_FILE:"
tail -n 20 "$LOG_FILE" >&2 || true
stop_service
exit 1
