# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast check conformance bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/lrs serve

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# the edit loop: everything but the tests marked slow (fuzzing, spawned servers and workers)
test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -m "not slow" -p no:cacheprovider

check: $(VENV)/.test-installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

conformance: $(VENV)/.test-installed
	$(BIN)/python -m pytest -m conformance tests/conformance -p no:cacheprovider

bench: $(VENV)/.run-installed
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
