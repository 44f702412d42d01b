# Two commands for a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install only when pyproject.toml
# or the constraints file changed, so re-running is fast.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
# --no-compile: byte-compiling all of torch at install costs ~35 s; Python
# compiles the modules it imports on first use instead.
PIP_INSTALL := $(PY) -m pip install --quiet --no-compile -c $(CONSTRAINTS)

# One stamp per set of extras: `make demo` installs only what the demo needs.
RUN_STAMP := $(VENV)/.stamp-run
TEST_STAMP := $(VENV)/.stamp-test
DOCS_STAMP := $(VENV)/.stamp-docs
BENCH_STAMP := $(VENV)/.stamp-bench

.PHONY: demo test test-fast docs bench lint clean help

help:
	@echo "make demo   - install into .venv, fit on scribbled texture mosaics, print scores, write demo_overlay.png"
	@echo "make test   - install into .venv, run the test suite"
	@echo "make test-fast - the suite without the tests marked slow (inner loop)"
	@echo "make docs   - build the sphinx site into docs/_build/html"
	@echo "make bench  - run the benchmark scripts in benchmarks/"
	@echo "make lint   - ruff"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PIP_INSTALL) -e ".[torch,plot,io]"
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(PIP_INSTALL) -e ".[torch,plot,io,tests]"
	touch $@

$(DOCS_STAMP): $(RUN_STAMP)
	$(PIP_INSTALL) -e ".[torch,plot,io,docs]"
	touch $@

$(BENCH_STAMP): $(RUN_STAMP)
	$(PIP_INSTALL) -e ".[torch,plot,io,bench]"
	touch $@

demo: $(RUN_STAMP)
	$(PY) -m semiseg_sk demo --output demo_overlay.png --force

test: $(TEST_STAMP)
	$(PY) -m pytest -n 2 -q

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow"

docs: $(DOCS_STAMP)
	$(PY) -m sphinx -b html -q docs docs/_build/html
	@echo "docs written to docs/_build/html/index.html"

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench_autoencoder.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/accuracy.py

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check semiseg_sk tests benchmarks docs/examples

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples build *.egg-info
