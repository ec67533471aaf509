# mavuno: the two commands in the README (`make demo`, `make test`) do all the set-up
# on a fresh machine: Python venv with the PyTorch 2.11.0 wheel (libtorch for tch 0.24)
# and the model-fixture packages, then the Rust build.
SHELL := /bin/bash
CARGO ?= cargo
VENV := .venv
SETUP_MARKER := $(VENV)/.mavuno-setup-v2
BIN := target/release/mavuno

.PHONY: all setup build demo test lint fmt bench models clean slurm-test

all: build

$(SETUP_MARKER): scripts/setup-python.sh
	bash scripts/setup-python.sh

setup: $(SETUP_MARKER)

build: setup
	$(CARGO) build --release --bins
	@echo "Built $(BIN)"

demo: build
	bash scripts/demo.sh

test: setup
	$(CARGO) test --workspace --no-fail-fast
	@if command -v chromium >/dev/null && [ -d ../shared/data ]; then \
		MAVUNO=target/debug/mavuno bash scripts/report_check.sh; \
	else echo "report_check skipped: needs chromium (apt-get install -y chromium) and ../shared/data"; fi

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# A single-node Slurm cluster on this machine runs a sharded dedup (reduces split in 2
# band ranges, one array task failed on purpose and resubmitted alone) and compares it
# with the single-machine run (needs root: installs slurm-wlm and munge).
slurm-test:
	$(CARGO) build --release --bin mavuno
	BAND_RANGES=2 FAIL_TASK=3 bash scripts/slurm_local.sh

bench: build
	bash scripts/bench_io.sh

models: build
	bash scripts/build_lid_model.sh
	bash scripts/build_tag_models.sh

clean:
	$(CARGO) clean
	rm -rf runs
