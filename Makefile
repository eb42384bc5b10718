# salesloft-webhooks: local development.
#
#   make setup     create .venv with moto[server], cargo-lambda, aws-sam-cli (idempotent)
#   make dev       moto + table/queues + `cargo lambda watch` on 127.0.0.1:$(WATCH_PORT)
#   make send      replay a Function URL event file as a real HTTP request (EVENT=...)
#   make queue     print the messages on the local queues (QUEUE=name, DELETE=1)
#   make redrive   move the events dead-letter queue's messages back to the events queue
#                  (the deployed stack: STACK_NAME=name, default samconfig.toml's; LOCAL=1: moto)
#   make redrive-spool  run the spool's redrive once against `make dev`'s local stack
#   make build     release build for Lambda: target/lambda/webhook/bootstrap
#   make lint      rustfmt check + clippy with warnings denied
#   make test      every test: unit, integration (moto), emulator, load, make dev smoke,
#                  SAM checks and sam local invoke, tools (redrive), fuzz smoke
#   make fuzz      run each fuzz target for FUZZ_SECONDS (default 600)
#   make bench     benchmarks (never part of make test): Criterion in-process, then the
#                  side-by-side Lambda harness and the scaling runs (see BENCHMARKS.md)
#
# Everything talks to 127.0.0.1 only, with fake AWS credentials.
#
# Layout: Python tools in tools/ (local_stack.py: the one definition of the local tables and
# queues; signing.py: every sender's signature; sam/: helpers of the SAM test), shell scripts
# in scripts/, the Lambda benchmark harness and the Criterion benchmark in bench/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON     ?= python3
VENV       ?= .venv
MOTO_PORT  ?= 4566
WATCH_PORT ?= 9000
EVENT      ?= events/salesloft/person_updated.json
QUEUE      ?=
DELETE     ?=
INVOKE     ?=
SEND_FLAGS ?=
CARGO      ?= cargo

VENV_PY    := $(VENV)/bin/python
STAMP      := $(VENV)/.stamp
MOTO_URL   := http://127.0.0.1:$(MOTO_PORT)
# Fake credentials for the tools that talk to moto.
LOCAL_AWS  := AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
              AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$(MOTO_URL)

# `cargo lambda build` defaults (verified here with cargo-lambda 1.9.2 on x86_64 Debian 12):
# target x86_64-unknown-linux-gnu, linked by cargo-zigbuild with the zig that the cargo-lambda
# wheel ships (hence .venv/bin on PATH), plus `-C target-cpu=haswell` (the profile's
# `panic = "unwind"` stands: checked with `cargo lambda build --release --verbose`). zig
# links against an old glibc (the binary needs GLIBC_2.30 at most), so the bootstrap runs on
# provided.al2023 whatever the build host's glibc. Override with e.g.
#   make build LAMBDA_BUILD_FLAGS=--arm64                 # Graviton (zig cross-links)
#   make build LAMBDA_BUILD_FLAGS='--compiler cargo'      # no zig: host linker, host glibc
LAMBDA_BUILD_FLAGS ?=

.PHONY: help setup dev redrive-spool send queue redrive build lint test test-rust test-deps test-dev test-sam test-tools test-fuzz fuzz bench bench-rust bench-lambda

help:
	@sed -n 's/^#   make /  make /p' $(MAKEFILE_LIST)

# --- setup ------------------------------------------------------------------------------
setup: $(STAMP)

# The venv itself. Debian/Ubuntu ship python3 without ensurepip unless python3-venv is
# installed: only then, install it with apt-get (sudo when not root) and retry.
$(VENV_PY):
	@if ! $(PYTHON) -m venv $(VENV); then \
	  echo "setup: '$(PYTHON) -m venv' failed; installing python3-venv with apt-get" >&2; \
	  rm -rf $(VENV); \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y python3-venv && \
	  $(PYTHON) -m venv $(VENV); \
	fi

# Reinstalls only when requirements-dev.txt changes (or the venv is new).
$(STAMP): requirements-dev.txt | $(VENV_PY)
	$(VENV_PY) -m pip install -r requirements-dev.txt
	@touch $@

# --- dev loop ---------------------------------------------------------------------------
dev: setup
	VENV=$(VENV) MOTO_PORT=$(MOTO_PORT) WATCH_PORT=$(WATCH_PORT) scripts/dev.sh

# Standard library only: works with any python3, venv or not.
# The spool's redrive, once, against the stack `make dev` created (it must be running).
redrive-spool: setup
	@test -f .local/stack.env || { echo "redrive-spool: run make dev first (it writes .local/stack.env)" >&2; exit 1; }
	set -a; . ./.local/stack.env; set +a; $(LOCAL_AWS) $(CARGO) run --quiet --bin spool-redrive -- --once

send:
	$(PYTHON) tools/send.py --port $(WATCH_PORT)$(if $(INVOKE), --invoke) $(SEND_FLAGS) $(EVENT)

queue: setup
	$(LOCAL_AWS) $(VENV_PY) tools/queues.py --endpoint $(MOTO_URL)$(if $(QUEUE), --queue $(QUEUE))$(if $(DELETE), --delete)

# SQS message move task (StartMessageMoveTask), DLQ -> events queue; tools/redrive.py.
# Without LOCAL: the deployed stack's outputs, with your own AWS credentials and region.
# LOCAL=1: the local stack on $(MOTO_URL) (moto has no message move task: the tool says so).
# REDRIVE_FLAGS: e.g. --queue example-consumer, --rate 10, --no-wait.
STACK_NAME    ?=
LOCAL         ?=
REDRIVE_FLAGS ?=
redrive: setup
	$(if $(LOCAL),$(LOCAL_AWS) )$(VENV_PY) tools/redrive.py$(if $(STACK_NAME), --stack-name $(STACK_NAME))$(if $(REDRIVE_FLAGS), $(REDRIVE_FLAGS))

# --- build and checks --------------------------------------------------------------------
build: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/cargo-lambda lambda build \
	  --release --bin webhook $(LAMBDA_BUILD_FLAGS)
	@ls -l target/lambda/webhook/bootstrap

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p salesloft-webhooks-consumer --no-default-features --all-targets -- -D warnings

# --- tests -------------------------------------------------------------------------------
# `make test` is the one command that runs every test (CI calls it). Each part installs what
# it needs: the venv (setup), cargo-fuzz, and podman/runc from Debian for `sam local invoke`
# when no Docker engine is present.
test: test-rust test-deps test-dev test-sam test-tools test-fuzz
	@echo "make test: all passed"

# The integration tests run the consumer crate's binary under the Lambda emulator; a test
# cannot ask cargo for another package's binary, so it is built first.
test-rust: setup
	$(VENV_PY) tools/gen_events.py --check
	$(CARGO) build --locked -p salesloft-webhooks-consumer --bin consumer
	$(CARGO) test --locked --workspace

# The wire and consumer crates keep their boundaries; the consumer crate builds alone.
test-deps:
	CARGO=$(CARGO) scripts/check-deps.sh

test-dev: setup
	scripts/dev-smoke.sh

test-sam: setup
	scripts/sam/checks.sh
	scripts/sam/local-invoke-test.sh

# The operational tools against moto on 127.0.0.1 (tools/test_redrive.py: make redrive).
test-tools: setup
	$(VENV_PY) tools/test_redrive.py

test-fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),20) scripts/fuzz-smoke.sh

fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),600) scripts/fuzz-smoke.sh

# --- benchmarks (never part of `make test`) ------------------------------------------------
bench: bench-rust bench-lambda

# Criterion, in process: bench/criterion/pipeline.rs.
bench-rust:
	$(CARGO) bench --no-default-features --bench pipeline

# Markdown tables and the plot go to bench/results/, the raw JSON to bench/results/raw/
# (gitignored). Tables and queues come from tools/local_stack.py, as for `make dev`.
bench-lambda: setup
	bench/lambda/run.sh
	bench/lambda/scaling.sh
