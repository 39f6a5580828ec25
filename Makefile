# vlatune — the front door.
#   make demo       build, install the trainer environment, prepare a sample dataset, LoRA-fine-tune
#                   the pretrained tiny-vla base on CPU, show the result
#   make demo-sim   demonstrations from the Meta-World simulator, prepare, LoRA fine-tune, evaluate
#                   closed-loop: the fine-tuned policy's success rate next to the base and the expert
#   make test       every test suite (Swift Testing + pytest in .venv and .venv-lerobot); what CI runs
#   make build      debug build of the vlatune binary;  make release: release build
#   make venv       the project's Python environment (.venv): trainer (torch, peft, transformers,
#                   safetensors), numpy, Pillow, pytest, ruff
#   make tiny-base  pretrain the tiny-vla base from its seed (committed under trainer/…/assets)
#   make bench      benchmarks against baselines (bench/results/, docs/performance.md)
#   make lint       swift-format (.swift-format) and ruff: what CI checks;  make format: fix both
#   make fuzz       libFuzzer over each parser for FUZZ_SECONDS (not part of make test; Fuzz/)
#   make sample     generate and prepare the example dataset
#   make protos     regenerate the committed swift-protobuf code (RLDS)
#   make clean
# Warnings in the project's own targets are errors (Package.swift: treatAllWarnings).

SWIFT ?= swift
PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
SWIFT_FLAGS ?=
# The simulators closed-loop evaluation runs (docs/eval.md); rendered headless by Mesa.
SIM_REQUIREMENTS := metaworld==3.1.1
PY_REQUIREMENTS := numpy pillow pytest ruff mcp jsonschema pyarrow pandas protobuf h5py pyte tensorboard mlflow wandb \
  $(SIM_REQUIREMENTS)
# The CPU-only torch wheel these machines keep in pip's local wheel folder; elsewhere the
# registry's torch is installed instead.
TORCH_CPU := torch==2.13.0+cpu

# What swift-format reads (the generated protobuf code opts out with swift-format-ignore-file).
SWIFT_FORMAT_PATHS := Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources

FUZZ_SECONDS ?= 120
FUZZ_TARGETS ?= json episode parquet tfrecord policy npy

.PHONY: fuzz deps build release test test-swift test-python test-lerobot venv venv-lerobot lint lint-swift format sample tiny-base demo demo-sim bench protos clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release --static-swift-stdlib $(SWIFT_FLAGS)
	@readelf -h .build/release/vlatune | grep -q 'DYN' || { echo "error: .build/release/vlatune is not a position-independent executable" >&2; exit 1; }

$(VENV)/.installed: trainer/pyproject.toml Makefile
	@bash scripts/install-deps.sh
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet "$(TORCH_CPU)" || $(VENV_PYTHON) -m pip install --quiet torch
	$(VENV_PYTHON) -m pip install --quiet $(PY_REQUIREMENTS) -e trainer
	touch $@

venv: $(VENV)/.installed

# The LeRobot environment (Python 3.12 from pyenv, lerobot 0.6.1, torch 2.11; ~2.5 min, 6 GB) that
# LeRobot checkpoints (ACT, diffusion, SmolVLA) train in; vlatune picks it by the base model.
# pyenv's 3.12 first (its python3.12 shim fails where 3.12 is not the selected version).
LEROBOT_PYTHON ?= $(firstword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
.venv-lerobot/.installed: trainer/pyproject.toml Makefile
	@test -n "$(LEROBOT_PYTHON)" || { echo "LeRobot 0.6.1 needs Python 3.12: install it (pyenv install 3.12.1) or pass LEROBOT_PYTHON=/path/to/python3.12" >&2; exit 1; }
	test -x .venv-lerobot/bin/python || $(LEROBOT_PYTHON) -m venv .venv-lerobot
	.venv-lerobot/bin/python -m pip install --quiet --upgrade pip
	.venv-lerobot/bin/python -m pip install --quiet "torch==2.11.*" \
	  "lerobot[smolvla,pi,groot,peft,training,dataset,diffusion]==0.6.1" tensorboard pytest ruff \
	  $(SIM_REQUIREMENTS) -e trainer
	touch $@

venv-lerobot: .venv-lerobot/.installed

# The LeRobot families end to end, in .venv-lerobot (part of make test; never skipped there).
test-lerobot: venv-lerobot build
	VLATUNE_REQUIRE_LEROBOT=1 VLATUNE_BINARY=$(abspath .build/debug/vlatune) \
	  .venv-lerobot/bin/python -m pytest -q trainer/tests/test_lerobot_families.py

test: test-swift test-python test-lerobot

test-swift: deps venv build
	VLATUNE_REQUIRE_FIXTURES=1 VLATUNE_TEST_PYTHON=$(abspath $(VENV_PYTHON)) $(SWIFT) test $(SWIFT_FLAGS)

test-python: venv build
	$(VENV)/bin/ruff check examples tests-python Tests/Fixtures bench trainer Fuzz
	VLATUNE_BINARY=$(abspath .build/debug/vlatune) $(VENV_PYTHON) -m pytest -q tests-python trainer/tests

lint: venv lint-swift
	$(VENV)/bin/ruff check examples tests-python Tests/Fixtures bench trainer Fuzz
	$(VENV)/bin/ruff format --check examples tests-python Tests/Fixtures bench trainer Fuzz

# The toolchain's swift-format, strict: a finding fails.
lint-swift:
	$(SWIFT) format lint --strict --parallel --recursive $(SWIFT_FORMAT_PATHS)

format: venv
	$(SWIFT) format format --in-place --parallel --recursive $(SWIFT_FORMAT_PATHS)
	$(VENV)/bin/ruff format examples tests-python Tests/Fixtures bench trainer Fuzz

sample: venv build
	rm -rf .build-sample && $(VENV_PYTHON) examples/make_sample_dataset.py --out .build-sample/pick-blocks --episodes 40
	.build/debug/vlatune dataset prepare .build-sample/pick-blocks --name pick-blocks --overwrite

# The pretraining task family: block colours the demo's fine-tune does not use.
tiny-base: venv build
	rm -rf .build-tiny-base
	$(VENV_PYTHON) examples/make_sample_dataset.py --out .build-tiny-base/source --episodes 400 \
	  --steps 30 --colours red,green,blue,yellow --seed 1
	VLATUNE_HOME=$(abspath .build-tiny-base/home) .build/debug/vlatune dataset prepare \
	  .build-tiny-base/source --name tiny-vla-pretrain --quiet > .build-tiny-base/id
	$(VENV_PYTHON) -m vlatune_trainer.pretrain --steps 3000 --seed 0 \
	  --package .build-tiny-base/home/datasets/$$(cat .build-tiny-base/id) \
	  --out trainer/vlatune_trainer/assets/tiny-vla

demo: venv build
	bash examples/demo.sh

demo-sim: venv build
	bash examples/demo_sim.sh

# Benchmarks (never part of make test): prepare throughput vs tar|sha256sum and a Python
# baseline, peak RSS at 1 and 4 GB, CLI latency with 10 000 jobs, limiter, trainer throughput,
# the LeRobot SmolVLA trainer against lerobot-train (bench/lerobot_train.py, in .venv-lerobot).
bench: venv venv-lerobot release
	$(VENV_PYTHON) bench/run.py --binary .build/release/vlatune

# Regenerates the committed swift-protobuf code of the tf.train messages RLDS records use
# (protoc from grpcio-tools, protoc-gen-swift built from the swift-protobuf dependency).
protos: venv
	$(VENV_PYTHON) -m pip install --quiet grpcio-tools
	$(SWIFT) build --product protoc-gen-swift
	$(VENV_PYTHON) -m grpc_tools.protoc --plugin=protoc-gen-swift=$(abspath .build/debug/protoc-gen-swift) \
	  --swift_out=Sources/VlatuneFormats/RLDS/Generated --swift_opt=Visibility=Internal \
	  -I protos protos/feature.proto protos/example.proto

clean:
	$(SWIFT) package clean
	rm -rf .build-sample .build-tiny-base .build-demo

# libFuzzer over each parser (Sources/VlatuneCore/Fuzzing/FuzzTarget.swift), FUZZ_SECONDS each,
# from the committed seeds (Fuzz/corpus/<target>) into a working corpus under .build-fuzz; a
# crash lands in Fuzz/crashes/<target>/. Copy it to Fuzz/regressions/<target>/: make test
# replays every file there (FuzzRegressionTests).
fuzz: deps
	$(SWIFT) build --package-path Fuzz --scratch-path .build-fuzz -c release \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
	@for target in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$target Fuzz/crashes/$$target; \
	  echo "== $$target ($(FUZZ_SECONDS) s)"; \
	  VLATUNE_FUZZ_TARGET=$$target .build-fuzz/release/vlatune-fuzz -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=262144 -rss_limit_mb=4096 -print_final_stats=1 \
	    -artifact_prefix=Fuzz/crashes/$$target/ .build-fuzz/corpus/$$target Fuzz/corpus/$$target \
	    > .build-fuzz/$$target.log 2>&1; status=$$?; \
	  grep -E 'DONE|stat::number_of_executed_units|ERROR|SUMMARY|Test unit written' .build-fuzz/$$target.log | tail -4; \
	  test $$status -eq 0 || { echo "$$target: crash (.build-fuzz/$$target.log)"; exit 1; }; \
	done
