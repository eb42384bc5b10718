#!/usr/bin/env bash
# Checks that the workspace's crates keep their boundaries (part of `make test`):
#   1. the wire crate depends on no AWS SDK, HMAC or hash crate, and no tokio;
#   2. the consumer crate never depends on the webhook crate, and without its `aws` feature
#      on none of those either (with it, the AWS SDK brings its own hashing and tokio);
#   3. the webhook (the Lambda binary) never depends on the subscriptions CLI or its crates;
#   4. the consumer crate builds on its own, in a target directory of its own, so nothing
#      the webhook built can make it pass.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
FORBIDDEN='^(aws-[a-z0-9-]+|hmac|sha1|sha2|subtle|tokio|salesloft-webhooks) v'

deps() { # package, extra cargo-tree flags...
  local pkg=$1; shift
  "$CARGO" tree --locked -p "$pkg" -e normal --prefix none "$@" | sed 's/ (\*)$//' | sort -u
}

fail=0
bad=$(deps salesloft-webhooks-wire | grep -E "$FORBIDDEN" || true)
if [ -n "$bad" ]; then
  echo "check-deps: the wire crate depends on:" >&2; echo "$bad" >&2; fail=1
fi
bad=$(deps salesloft-webhooks-consumer --no-default-features | grep -E "$FORBIDDEN" || true)
if [ -n "$bad" ]; then
  echo "check-deps: the consumer crate (no default features) depends on:" >&2; echo "$bad" >&2; fail=1
fi
bad=$(deps salesloft-webhooks-consumer | grep -E '^salesloft-webhooks v' || true)
if [ -n "$bad" ]; then
  echo "check-deps: the consumer crate depends on the webhook crate" >&2; fail=1
fi
# The Lambda binary must not carry the subscriptions CLI's dependencies.
bad=$(deps salesloft-webhooks | grep -E '^(clap|reqwest|salesloft-webhooks-cli) v' || true)
if [ -n "$bad" ]; then
  echo "check-deps: the webhook crate depends on the CLI's crates:" >&2; echo "$bad" >&2; fail=1
fi
[ "$fail" = 0 ] || exit 1
echo "check-deps: wire and consumer crates keep their boundaries"

# Built alone: only the consumer's own dependency graph is compiled here.
"$CARGO" build --locked -p salesloft-webhooks-consumer --bins --target-dir target/consumer-alone
echo "check-deps: the consumer crate builds on its own"
