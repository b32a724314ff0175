# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) .venv and installs what it needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ASSAY_DATA_HOME ?= $(abspath ../shared/data)
export ASSAY_DATA_HOME

.PHONY: venv demo test lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned to the CPU wheel that ships with these machines; install it
# first so the `torch>=2.2` requirement of the extras is already satisfied.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev,torch,spark]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/assay demo

test: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2

bench: venv
	$(BIN)/python benchmarks/bench_fairlearn.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
