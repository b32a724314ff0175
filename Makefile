# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) .venv and installs what it needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ASSAY_DATA_HOME ?= $(abspath ../shared/data)
export ASSAY_DATA_HOME

.PHONY: venv browser demo test lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned to the CPU wheel that ships with these machines; install it
# first so the `torch>=2.2` requirement of the extras is already satisfied.
$(VENV)/.installed: pyproject.toml setup.py src/assay/_native/_pairwise.c src/assay/_native/_calibration.c | $(BIN)/python
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev,torch,lightning,spark,report,privacy,valuation,robustness,card,images]"
	touch $@

# Debian's Chromium for the report's browser tests (no browser download from the test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

venv: $(VENV)/.installed

demo: venv
	$(BIN)/assay demo

# ASSAY_REQUIRE_NATIVE: fail (rather than fall back to PyTorch) if the C kernels did not build.
test: venv browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	ASSAY_REQUIRE_NATIVE=1 $(BIN)/pytest -q -n 2

bench: venv
	$(BIN)/python benchmarks/bench_fairlearn.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
