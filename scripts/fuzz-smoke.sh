#!/usr/bin/env bash
# Short smoke run of each cargo-fuzz target (nightly toolchain + cargo-fuzz, installed here if
# missing). `make fuzz FUZZ_SECONDS=600` runs them for longer.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-20}

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is missing (cargo-fuzz needs it)" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
for target in verify request; do
  echo "fuzz: $target for ${SECONDS_EACH}s"
  log=$(mktemp "/tmp/fuzz-$target.XXXXXX.log")
  if ! cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target FAILED (artifacts in fuzz/artifacts/$target)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | sed "s/^/fuzz: $target /"
done
