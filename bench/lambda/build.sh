# Sourced by run.sh and scaling.sh: builds (or reuses) what the Lambda benchmark runs.
# Everything lands under bench/ (gitignored: bench/.build, bench/.venv, node_modules,
# floor/target) except the main crate's own `cargo lambda build` output in target/lambda/.
# Heavy steps run under `nice -n 10`: other people build on the same 2 cores.
#
#   SKIP_BUILD=1       reuse target/lambda/webhook/bootstrap as it is (no cargo lambda build)
#   FORCE_REBUILD=1    redo the node/python installs even when their stamps are current

: "${REPO:?}" "${BENCH:?}"
BUILD_DIR="$BENCH/.build"
WORK_DIR="$BENCH/.work"
NICE="nice -n 10"
mkdir -p "$BUILD_DIR" "$WORK_DIR"

say() { printf '\n== %s\n' "$*" >&2; }

# Rebuild when $1 (a stamp) is missing or older than any of the other files.
stale() {
  local stamp=$1; shift
  [ "${FORCE_REBUILD:-0}" = 1 ] && return 0
  [ -e "$stamp" ] || return 0
  local f
  for f in "$@"; do [ "$f" -nt "$stamp" ] && return 0; done
  return 1
}

check_prereqs() {
  if [ ! -x "$REPO/.venv/bin/cargo-lambda" ] || ! ls "$REPO"/.venv/lib/python3.*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64 >/dev/null 2>&1; then
    echo "bench: the project venv (.venv with cargo-lambda, aws-sam-cli, moto) is missing: run 'make setup' at the repo root" >&2
    exit 1
  fi
  command -v node >/dev/null && command -v npm >/dev/null || { echo "bench: node and npm are needed (Node 20)" >&2; exit 1; }
}

# (1) this function: the release binary exactly as `make build` makes it.
build_this() {
  say "this function: cargo lambda build --release --bin webhook"
  local built=true
  if [ "${SKIP_BUILD:-0}" = 1 ]; then
    built=false
    echo "SKIP_BUILD=1: reusing target/lambda/webhook/bootstrap" >&2
  elif ! (cd "$REPO" && PATH="$REPO/.venv/bin:$PATH" $NICE "$REPO/.venv/bin/cargo-lambda" lambda build --release --bin webhook); then
    echo "bench: 'cargo lambda build --release --bin webhook' failed (src/ may be mid-edit); fix it or rerun with SKIP_BUILD=1 to measure the last built bootstrap" >&2
    exit 1
  fi
  [ -f "$REPO/target/lambda/webhook/bootstrap" ] || { echo "bench: no target/lambda/webhook/bootstrap" >&2; exit 1; }
  # A private copy: others may rebuild target/ while the benchmark runs.
  mkdir -p "$BUILD_DIR/webhook"
  cp "$REPO/target/lambda/webhook/bootstrap" "$BUILD_DIR/webhook/bootstrap"
  "$REPO/.venv/bin/python" - "$built" > "$WORK_DIR/build-info.json" <<'PY'
import json, os, subprocess, sys, time
repo = os.environ["REPO"]
git = lambda *a: subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True).stdout.strip()
exe = os.path.join(repo, "target/lambda/webhook/bootstrap")
print(json.dumps({
    "this_built_now": sys.argv[1] == "true",
    "this_bootstrap_mtime": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(os.path.getmtime(exe))),
    "git_head": git("rev-parse", "HEAD"),
    "git_dirty_at_build": git("status", "--porcelain", "--", "src", "crates", "Cargo.toml", "Cargo.lock").splitlines(),
}, indent=1))
PY
}

# (4) floor: its own workspace and target dir, built the same way.
build_floor() {
  say "floor: cargo lambda build --release (bench/lambda/floor)"
  (cd "$BENCH/lambda/floor" && PATH="$REPO/.venv/bin:$PATH" $NICE "$REPO/.venv/bin/cargo-lambda" lambda build --release --bin floor)
  mkdir -p "$BUILD_DIR/floor"
  cp "$BENCH/lambda/floor/target/lambda/floor/bootstrap" "$BUILD_DIR/floor/bootstrap"
}

# (2) node: the function's production dependencies, and aws-lambda-ric (native: it builds
# its bundled aws-lambda-cpp and curl, which need these Debian packages).
NODE_APT_DEPS="cmake autoconf automake libtool g++ make python3"
build_node() {
  say "node: npm ci (function: SDK v3 clients; runtime: aws-lambda-ric 3.3.0)"
  local fn="$BENCH/lambda/node/function" rt="$BENCH/lambda/node/runtime"
  if stale "$fn/node_modules/.bench-stamp" "$fn/package.json" "$fn/package-lock.json"; then
    (cd "$fn" && $NICE npm ci --omit=dev --no-audit --no-fund) && touch "$fn/node_modules/.bench-stamp"
  fi
  if stale "$rt/node_modules/.bench-stamp" "$rt/package.json" "$rt/package-lock.json"; then
    local missing=() p
    for p in $NODE_APT_DEPS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
      if [ "$(id -u)" = 0 ]; then
        echo "installing aws-lambda-ric's build dependencies: ${missing[*]}" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
      else
        echo "bench: aws-lambda-ric needs: sudo apt-get install -y ${missing[*]}" >&2; exit 1
      fi
    fi
    (cd "$rt" && $NICE npm ci --no-audit --no-fund) && touch "$rt/node_modules/.bench-stamp"
  fi
}

# (3) python: bench/.venv (awslambdaric + boto3 = the managed runtime's part, matplotlib for
# the plot) and the deployment package bench/.build/python-task (handler + pip --target).
build_python() {
  say "python: bench/.venv and bench/.build/python-task"
  local py="$BENCH/lambda/python"
  if [ ! -x "$BENCH/.venv/bin/python" ]; then
    python3 -m venv "$BENCH/.venv"
  fi
  if stale "$BENCH/.venv/.bench-stamp" "$py/requirements-bench.txt"; then
    $NICE "$BENCH/.venv/bin/pip" install -q -r "$py/requirements-bench.txt" && touch "$BENCH/.venv/.bench-stamp"
  fi
  local task="$BUILD_DIR/python-task"
  # The stamp sits beside the task dir: everything inside it is zipped and measured.
  if stale "$task.stamp" "$py/function/requirements.txt"; then
    rm -rf "$task"
    $NICE "$BENCH/.venv/bin/pip" install -q --target "$task" -r "$py/function/requirements.txt"
    touch "$task.stamp"
  fi
  cp "$py/function/handler.py" "$task/handler.py"
}
