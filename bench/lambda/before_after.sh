#!/usr/bin/env bash
# Before/after benchmark of two commits of this function (never part of the test suite):
# builds `webhook` at each commit exactly as production does (cargo lambda build --release),
# then measures both side by side in one run under aws-lambda-rie against one moto server on
# 127.0.0.1: cold starts alternating between the two binaries (INIT, first invoke, peak RSS),
# a short warm run for context, binary and zip sizes. See BENCHMARKS.md ("lambda_http 1.x
# migration: before and after") and bench/lambda/harness/before_after.py.
#
#   bench/lambda/before_after.sh                      # 88d239a (lambda_runtime 0.14) vs 77d6fef (lambda_http 1.3.2)
#   bench/lambda/before_after.sh OLD_REV NEW_REV      # any two commits
#   COLD=40 WARM=200 bench/lambda/before_after.sh     # knobs: COLD (>= 12, default 12), WARM (200), WARMUP (10), PRIME (1)
#
# Where each commit is built:
# * a commit equal to HEAD, with src/ crates/ Cargo.* .cargo/ unmodified, in place (target/,
#   output target/lambda/webhook/bootstrap); the tree is checked again after the build;
# * any other commit in a git worktree at ${TMPDIR:-/tmp}/bench-before (or -after) with its own
#   target dir beside it (.../bench-before-target), so target/ is never clobbered. A worktree
#   this script adds is removed at the end (KEEP_WORKTREES=1 keeps it); the target dirs stay as
#   a build cache. An existing worktree at that path is reused only if it is at the commit.
# The two bootstraps are copied to bench/.build/before-after/{before,after}/bootstrap before
# anything is measured. Builds run under `nice -n 10`; the measurement does not.
#
# Outputs: bench/results/before-after-<UTC date>T<HHMM>.md (tables) and
# bench/results/raw/before-after-<UTC date>T<HHMM>.json (every sample; gitignored); RIE and moto logs
# in bench/.work/logs-before-after-*/.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
REPO=$(dirname "$BENCH")
cd "$REPO"

BEFORE_REV=${1:-88d239a}
AFTER_REV=${2:-77d6fef}
COLD=${COLD:-12}
WARM=${WARM:-200}
WARMUP=${WARMUP:-10}
PRIME=${PRIME:-1}
NICE="nice -n 10"
OUT="$BENCH/.build/before-after"
WT_BASE=${TMPDIR:-/tmp}
CREATED_WORKTREES=()

say() { printf '\n== %s\n' "$*" >&2; }

cleanup() {
  local wt
  if [ "${KEEP_WORKTREES:-0}" != 1 ]; then
    for wt in "${CREATED_WORKTREES[@]+"${CREATED_WORKTREES[@]}"}"; do
      git -C "$REPO" worktree remove --force "$wt" || echo "could not remove worktree $wt" >&2
    done
  fi
}
trap cleanup EXIT

[ -x "$REPO/.venv/bin/cargo-lambda" ] || { echo "before_after: no .venv/bin/cargo-lambda: run 'make setup'" >&2; exit 1; }
ls "$REPO"/.venv/lib/python3.*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64 >/dev/null 2>&1 \
  || { echo "before_after: aws-lambda-rie not found in .venv (aws-sam-cli): run 'make setup'" >&2; exit 1; }

tree_dirty() { git -C "$REPO" status --porcelain -- src crates Cargo.toml Cargo.lock .cargo; }

# build ROLE REV: builds `webhook` at REV, copies the bootstrap to $OUT/ROLE/bootstrap and
# writes $OUT/ROLE/build.json.
build() {
  local role=$1 rev=$2 sha head tree target in_place=false
  sha=$(git -C "$REPO" rev-parse --verify "$rev^{commit}")
  head=$(git -C "$REPO" rev-parse HEAD)
  if [ "$sha" = "$head" ] && [ -z "$(tree_dirty)" ] && [ "${IN_PLACE:-1}" = 1 ]; then
    tree=$REPO
    target=$REPO/target
    in_place=true
  else
    tree=$WT_BASE/bench-$role
    target=$WT_BASE/bench-$role-target
    if [ -e "$tree" ]; then
      local at
      at=$(git -C "$tree" rev-parse HEAD 2>/dev/null || true)
      if [ "$at" != "$sha" ] || [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
        echo "before_after: $tree exists but is not a clean checkout of $sha; remove it or set TMPDIR" >&2
        exit 1
      fi
    else
      git -C "$REPO" worktree add --detach "$tree" "$sha" >&2
      CREATED_WORKTREES+=("$tree")
    fi
  fi
  say "$role: $rev ($sha) in $tree, target dir $target"
  (cd "$tree" && CARGO_TARGET_DIR="$target" PATH="$REPO/.venv/bin:$PATH" \
     $NICE "$REPO/.venv/bin/cargo-lambda" lambda build --release --bin webhook) >&2
  if $in_place && [ -n "$(tree_dirty)" ]; then
    echo "before_after: the working tree changed during the build of $role; rerun with IN_PLACE=0" >&2
    exit 1
  fi
  mkdir -p "$OUT/$role"
  cp "$target/lambda/webhook/bootstrap" "$OUT/$role/bootstrap"
  "$REPO/.venv/bin/python" - "$role" "$rev" "$sha" "$tree" "$target" "$in_place" "$OUT/$role/bootstrap" \
    > "$OUT/$role/build.json" <<'PY'
import hashlib, json, os, subprocess, sys, time
role, rev, sha, tree, target, in_place, exe = sys.argv[1:]
run = lambda *a: subprocess.run(a, cwd=tree, capture_output=True, text=True).stdout.strip()
lock = open(os.path.join(tree, "Cargo.lock")).read()
def locked(name):
    parts = lock.split("[[package]]")
    return sorted(p.split('version = "')[1].split('"')[0] for p in parts if f'name = "{name}"\n' in p)
print(json.dumps({
    "role": role, "rev": rev, "commit": sha, "subject": run("git", "log", "-1", "--format=%s")[:120],
    "tree": tree, "target_dir": target, "built_in_place": in_place == "true",
    "bootstrap_built": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(os.path.getmtime(os.path.join(target, "lambda/webhook/bootstrap")))),
    "bootstrap_sha256": hashlib.sha256(open(exe, "rb").read()).hexdigest(),
    "rustc": run("rustc", "--version"),
    "locked": {n: locked(n) for n in ("lambda_runtime", "lambda_http", "aws_lambda_events", "tracing-subscriber",
                                      "aws-sdk-dynamodb", "aws-sdk-sqs", "tokio", "hyper")},
}, indent=1))
PY
}

build before "$BEFORE_REV"
build after "$AFTER_REV"
"$REPO/.venv/bin/python" -c 'import json,sys; print(json.dumps({r: json.load(open(f"{sys.argv[1]}/{r}/build.json")) for r in ("before","after")}, indent=1))' \
  "$OUT" > "$OUT/build-info.json"

say "measuring: $COLD cold starts per binary (alternating), $WARMUP+$WARM warm; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
"$REPO/.venv/bin/python" "$HERE/harness/before_after.py" \
  --before "$OUT/before/bootstrap" --before-label "$BEFORE_REV" \
  --after "$OUT/after/bootstrap" --after-label "$AFTER_REV" \
  --cold "$COLD" --warm "$WARM" --warmup "$WARMUP" --prime "$PRIME" --build-info "$OUT/build-info.json"
