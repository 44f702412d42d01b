# Two commands for a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install only when pyproject.toml
# or the constraints file changed, so re-running is fast.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
EXTRAS ?= torch,plot,io,tests,docs,bench
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test docs bench lint clean help

help:
	@echo "make demo   - install into .venv, fit on scribbled texture mosaics, print scores, write demo_overlay.png"
	@echo "make test   - install into .venv, run the test suite"
	@echo "make docs   - build the sphinx site into docs/_build/html"
	@echo "make bench  - run the benchmark scripts in benchmarks/"
	@echo "make lint   - ruff"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m semiseg_sk demo --output demo_overlay.png

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

docs: $(STAMP)
	$(PY) -m sphinx -b html -q docs docs/_build/html
	@echo "docs written to docs/_build/html/index.html"

bench: $(STAMP)
	$(PY) benchmarks/bench_autoencoder.py
	$(PY) benchmarks/bench_scale.py
	$(PY) benchmarks/accuracy.py

lint: $(STAMP)
	$(VENV)/bin/ruff check semiseg_sk tests benchmarks docs/examples

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples build *.egg-info
