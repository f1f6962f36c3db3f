# Two commands set everything up: `make run` and `make test`.
# Both install the exact versions, with hashes, from requirements/*.txt (`make lock` refreshes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
LOCK := $(BIN)/uv pip compile --universal --python-version 3.11 --generate-hashes -q $(LOCK_UPGRADE)

.PHONY: run test test-fast check conformance bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The lock holds every dependency and the build backend; the project itself goes in without
# dependencies or an isolated build, so nothing unpinned is fetched. `pip check` fails when
# pyproject.toml names a dependency the lock lacks (then run `make lock`).
$(VENV)/.run-installed: pyproject.toml requirements/run.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements/run.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check -q
	touch $@

$(VENV)/.test-installed: pyproject.toml requirements/test.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes -r requirements/test.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check -q
	touch $@ $(VENV)/.run-installed

# Re-resolve the lock after a change to pyproject.toml (existing pins are kept where they
# still fit); `make lock LOCK_UPGRADE=--upgrade` moves everything to the newest versions.
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(LOCK) pyproject.toml requirements/build.in -o requirements/run.txt
	$(LOCK) --extra test pyproject.toml requirements/build.in -o requirements/test.txt

run: $(VENV)/.run-installed
	$(BIN)/lrs serve

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# the edit loop: everything but the tests marked slow (fuzzing, spawned servers and workers)
test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -m "not slow and not conformance" -p no:cacheprovider

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
