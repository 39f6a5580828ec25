# vlatune — the front door.
#   make build      debug build of the vlatune binary
#   make release    release build
#   make test       every test suite (Swift Testing + pytest); what CI runs
#   make venv       the project's Python environment (.venv): numpy, Pillow, pytest, ruff
#   make lint       ruff on the Python code
#   make sample     generate examples' sample dataset into .build-sample/
#   make clean
# Warnings in the project's own targets are errors (Package.swift: treatAllWarnings).

SWIFT ?= swift
PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python
SWIFT_FLAGS ?=
PY_REQUIREMENTS := numpy pillow pytest ruff

.PHONY: build release test test-swift test-python venv lint sample clean

build:
	$(SWIFT) build $(SWIFT_FLAGS)

release:
	$(SWIFT) build -c release $(SWIFT_FLAGS)

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet $(PY_REQUIREMENTS)

venv: $(VENV_PYTHON)

test: test-swift test-python

test-swift: venv
	VLATUNE_TEST_PYTHON=$(abspath $(VENV_PYTHON)) $(SWIFT) test $(SWIFT_FLAGS)

test-python: venv
	$(VENV)/bin/ruff check examples tests-python Tests/Fixtures bench
	$(VENV_PYTHON) -m pytest -q tests-python

lint: venv
	$(VENV)/bin/ruff check examples tests-python Tests/Fixtures bench
	$(VENV)/bin/ruff format --check examples tests-python Tests/Fixtures bench

sample: venv build
	rm -rf .build-sample && $(VENV_PYTHON) examples/make_sample_dataset.py --out .build-sample/pick-blocks --episodes 40
	.build/debug/vlatune dataset prepare .build-sample/pick-blocks --name pick-blocks --overwrite

clean:
	$(SWIFT) package clean
	rm -rf .build-sample
