# `make demo`, `make test` and `make docs` are all the set-up a fresh clone needs.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-full test-seeds test-fast lint docs docs-ci bench bench-perf bench-sbc \
	example-update clean

# uv installs the same versions as pip in about half the time (20 s against 42 s on
# an empty machine), byte-compiled as pip does (a new process then loads, not
# compiles, what it imports).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -e ".[dev,jax]"
	touch $(STAMP)

# The documentation site's tools (the `docs` extra) go into the same environment.
DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -e ".[dev,jax,docs]"
	touch $(DOCS_STAMP)

demo: $(STAMP)
	$(VENV)/bin/credibility demo --out demo_output

# The tests compile numba code at LLVM's -O1: 13 % less time than the default -O3 on
# an empty compile cache, and the same draws (IEEE arithmetic either way; decision 29).
# Their compile caches are their own, so that a benchmark or `make demo` never runs
# code compiled for the tests; they outlive the checkout, so a second run is warm.
TEST_CACHE ?= $(HOME)/.cache/credibility-tests
TEST_ENV := NUMBA_OPT=1 NUMBA_CACHE_DIR=$(TEST_CACHE)/numba \
	PYTENSOR_FLAGS=base_compiledir=$(TEST_CACHE)/pytensor
# Whole modules per worker (--dist loadscope): a module's fitted fixtures are built once.
# In the order tests/conftest.py gives them (longest first), not xdist's default
# reordering by number of tests, which left a long module to run alone at the end.
PYTEST := $(TEST_ENV) $(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder \
	--durations=25

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
	$(TEST_ENV) $(PY) -m pytest -m "not slow and not full"

lint: $(STAMP)
	$(VENV)/bin/ruff check credibility tests examples benchmarks

# The site, warnings as errors, into docs/_build/html (decision 48). `make docs` executes
# every example of the gallery (the real-data one where the staged sources exist);
# `make docs-ci`, what CI builds, executes only the quickest, in the compile caches of
# the test targets (which `make test`, run next in CI, then finds warm).
SPHINX := $(PY) -m sphinx -b html -W --keep-going -q -d docs/_build/doctrees docs docs/_build/html

docs: $(DOCS_STAMP)
	$(SPHINX)
	@echo "docs/_build/html/index.html"

docs-ci: $(DOCS_STAMP)
	CREDIBILITY_DOCS_GALLERY=ci $(TEST_ENV) $(SPHINX)

bench: $(STAMP)
	$(PY) benchmarks/predictor_holdout.py --joint

bench-perf: $(STAMP)
	$(PY) benchmarks/performance.py --sizes S M --out benchmarks/results/performance.json

bench-sbc: $(STAMP)
	$(PY) benchmarks/sbc_full.py --out benchmarks/results/sbc_full --doc docs/validation.md

example-update: $(STAMP)
	$(PY) examples/sequential_update.py --quick --out examples_output/sequential_update.png

clean:
	rm -rf $(VENV) demo_output .pytest_cache .ruff_cache docs/_build docs/gallery docs/api/generated
