#!/usr/bin/env bash
# `sam build` of the function through cargo-lambda (template Metadata BuildMethod:
# rust-cargolambda), for x86_64 here:
#
#   scripts/sam/build.sh                  # sam build --beta-features --no-cached --parameter-overrides Architecture=x86_64
#   scripts/sam/build.sh WebhookFunction  # only that resource (sam build RESOURCE_ID)
#   ARCH=arm64 scripts/sam/build.sh       # Graviton (see below); the template defaults to x86_64
#
# Output: .aws-sam/build/WebhookFunction/bootstrap (checked to exist and to be an ELF for ARCH)
# and .aws-sam/build/template.yaml. cargo is incremental, so an up-to-date build takes seconds.
#
# How it builds: sam runs `cargo lambda build --release --bin webhook` (plus `--arm64` for
# arm64) in the repository, so .venv/bin (cargo-lambda, and the zig it ships) must be on PATH;
# lib.sh puts it there. cargo-lambda compiles with cargo-zigbuild (zig as the linker), which links
# against an older glibc than the build machine's (this build needs at most GLIBC_2.30;
# provided.al2023 has 2.34) and adds target-cpu=haswell on x86_64 (the
# Cargo.toml release profile, panic = "unwind" included, is kept). The binary is also left in target/lambda/webhook/bootstrap,
# the same path `make build` writes to.
#
# Targets: x86_64-unknown-linux-gnu is the host's own target here, so no `rustup target add` is
# needed; x86_64 is also the template's default Architecture and what `make build` builds.
# arm64 (Graviton, cheaper per GB-second) needs the aarch64 standard library: on a machine with
# network access run `rustup target add aarch64-unknown-linux-gnu` once, then
# `sam build --beta-features --parameter-overrides Architecture=arm64` (or ARCH=arm64
# scripts/sam/build.sh), and deploy with the same override; cargo-lambda cross-compiles
# with zig, no cross toolchain needed. This script refuses arm64 when that target is not
# installed rather than letting anything try to download it.
#
# `--no-cached` (samconfig.toml also says `cached = false`; the flag wins over any other
# config a user may pass): with CodeUri "." sam's cache hashes
# the whole repository, including target/ (GBs) and .venv, and fails when cargo changes files in
# target/ while it hashes ("[Errno 2] No such file or directory: .../target/debug/deps/...").
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv sam cargo-lambda python
cd "$ROOT"

ARCH=${ARCH:-x86_64}
case "$ARCH" in
  x86_64) RUST_TARGET=x86_64-unknown-linux-gnu; ELF_MACHINE=62 ;;  # EM_X86_64
  arm64)  RUST_TARGET=aarch64-unknown-linux-gnu; ELF_MACHINE=183 ;; # EM_AARCH64
  *) echo "build: ARCH must be x86_64 or arm64" >&2; exit 2 ;;
esac
command -v cargo >/dev/null || { echo "build: cargo is not on PATH" >&2; exit 1; }
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx "$RUST_TARGET"; then
  echo "build: the Rust target $RUST_TARGET is not installed; on a machine with network access:" >&2
  echo "         rustup target add $RUST_TARGET" >&2
  exit 1
fi

echo "build: sam build $* --beta-features --no-cached --parameter-overrides Architecture=$ARCH"
t0=$(date +%s.%N)
log=$STATE_DIR/sam-build.log
set +e
"$SAM" build "$@" --beta-features --no-cached --parameter-overrides "Architecture=$ARCH" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if [[ $rc != 0 ]]; then
  echo "build: sam build failed (exit $rc); log: ${log#"$ROOT"/}" >&2
  exit "$rc"
fi

[[ -f .aws-sam/build/WebhookFunction/bootstrap ]] || { echo "build: .aws-sam/build/WebhookFunction/bootstrap was not produced" >&2; exit 1; }
grep -q 'RustCargoLambdaBuilder:CargoLambdaBuild' "$log" \
  || { echo "build: sam did not build through cargo-lambda (no RustCargoLambdaBuilder in the log)" >&2; exit 1; }
for BOOTSTRAP in .aws-sam/build/*/bootstrap; do
  machine=$("$VENV/bin/python" -c '
import struct, sys
h = open(sys.argv[1], "rb").read(20)
print(struct.unpack("<H", h[18:20])[0] if h[:4] == b"\x7fELF" else "not-elf")' "$BOOTSTRAP")
  if [[ $machine != "$ELF_MACHINE" ]]; then
    echo "build: $BOOTSTRAP is not an $ARCH ELF (e_machine $machine)" >&2
    exit 1
  fi
  glibc=$(objdump -T "$BOOTSTRAP" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -n 1 || true)
  echo "build: $BOOTSTRAP ok: $ARCH ELF, $(stat -c %s "$BOOTSTRAP") bytes${glibc:+, needs up to $glibc}"
done
echo "build: done ($(elapsed "$t0"))"
