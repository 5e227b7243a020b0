# `make demo` and `make test` are all the set-up a fresh clone needs.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-full test-seeds test-fast lint bench bench-perf bench-sbc example-update clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,jax]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/credibility demo --out demo_output

# Whole modules per worker (--dist loadscope): a module's fitted fixtures are built once.
PYTEST := $(PY) -m pytest -n 2 --dist loadscope --durations=25

# The tier CI runs: every kind of check, statistical ones at small sizes.
test: $(STAMP)
	$(PYTEST) -m "not full"

# Everything, the long versions included.
test-full: $(STAMP)
	$(PYTEST)

# The fast tier again on other draws of the shared simulated data and fits.
test-seeds: $(STAMP)
	CREDIBILITY_TEST_SEED=1 $(PYTEST) -m "not full"

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not full"

lint: $(STAMP)
	$(VENV)/bin/ruff check credibility tests examples benchmarks

bench: $(STAMP)
	$(PY) benchmarks/predictor_holdout.py --joint

bench-perf: $(STAMP)
	$(PY) benchmarks/performance.py --sizes S M --out benchmarks/results/performance.json

bench-sbc: $(STAMP)
	$(PY) benchmarks/sbc_full.py --out benchmarks/results/sbc_full --doc docs/validation.md

example-update: $(STAMP)
	$(PY) examples/sequential_update.py --quick --out examples_output/sequential_update.png

clean:
	rm -rf $(VENV) demo_output .pytest_cache .ruff_cache
