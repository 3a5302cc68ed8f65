# A newcomer's two commands: `make serve` and `make test`.
SHELL := /bin/bash

# Reuse one target dir outside the clone when /var/tmp exists (a cache, never a requirement).
CARGO_TARGET_DIR ?= $(shell [ -d /var/tmp ] && echo /var/tmp/mixmerge-target || echo $(CURDIR)/target)
export CARGO_TARGET_DIR
CARGO ?= cargo
DEMO_DIR ?= $(CARGO_TARGET_DIR)/demo
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: test setup fmt-check clippy unit lavapipe gpu-test serve demo bench

## test: install what is needed, then format check, clippy (warnings are errors), all tests,
## then the GPU path on lavapipe (a CPU Vulkan driver), where a missing adapter is a failure
test: setup fmt-check clippy unit gpu-test

setup:
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test

# lavapipe, only when no Vulkan driver (ICD) is installed; sudo only when not root.
lavapipe:
	@if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y mesa-vulkan-drivers || \
		{ $$SUDO apt-get update && $$SUDO apt-get install -y mesa-vulkan-drivers; }; \
	fi

gpu-test: lavapipe
	$(CARGO) clippy --all-targets --features gpu -- -D warnings
	MIXMERGE_REQUIRE_GPU=1 $(CARGO) test --features gpu

## demo: merge two synthetic fine-tunes of a tiny Llama natively (linear, task arithmetic, M³ mixup)
demo:
	$(CARGO) build --release
	@mkdir -p $(DEMO_DIR)
	$(CARGO_TARGET_DIR)/release/mixmerge synth $(DEMO_DIR)/base --variant 0
	$(CARGO_TARGET_DIR)/release/mixmerge synth $(DEMO_DIR)/expert-a --variant 1
	$(CARGO_TARGET_DIR)/release/mixmerge synth $(DEMO_DIR)/expert-b --variant 2
	@printf 'merge_method: task_arithmetic\nbase_model: base\nmodels:\n  - model: expert-a\n    parameters: {weight: 0.5}\n  - model: expert-b\n    parameters: {weight: 0.5}\nmixup: {alpha: 0.5, seed: 7}\nout_dtype: bfloat16\n' > $(DEMO_DIR)/mixup.yml
	$(CARGO_TARGET_DIR)/release/mixmerge merge $(DEMO_DIR)/mixup.yml $(DEMO_DIR)/merged --overwrite
	$(CARGO_TARGET_DIR)/release/mixmerge inspect $(DEMO_DIR)/merged

## serve: run the native demo merge, then serve www/ on $(HOST):$(PORT)
serve: demo
	@echo "serving www/ on http://$(HOST):$(PORT)/"
	python3 -m http.server $(PORT) --bind $(HOST) --directory www

## bench: 1B-shape merges against the I/O floor (median of 3)
bench:
	$(CARGO) build --release
	$(CARGO_TARGET_DIR)/release/mixmerge bench --shape 1b --runs 3 --methods linear,task_arithmetic,mixup
