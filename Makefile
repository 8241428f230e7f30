# Commands that work on a fresh machine with Python >= 3.10 and make:
#   make train     trains the default experiment (Copying Memory, CPU-sized) into $(WORKDIR)
#   make test      the fast test tier (under 3 minutes on 2 cores): everything not marked slow
#   make test-all  every test, end-to-end training runs included (what CI runs; adds torch, the peer extra)
#   make test-lowest   the fast tier at the lowest versions pyproject.toml allows (constraints-lowest.txt),
#                  in $(VENV)-lowest (what CI runs beside test-all)
#   make test-newest   the fast tier at the newest releases pip finds (no constraints), in $(VENV)-newest;
#                  skipped when every direct dependency's is its constraints.txt pin (test-all ran those)
#   make lint      ruff (lint and format check) over the tree, mypy over rumjax/ (what CI runs)
#   make docs      the documentation site, the tutorial executed (about 5 minutes on one CPU core), warnings
#                  as errors, into docs/_build/html
# Each creates (or reuses) the virtual environment $(VENV): the library with its training and test extras,
# at the versions of constraints.txt.

PYTHON ?= python3
VENV ?= .venv
WORKDIR ?= runs/copying_cpu
CONFIG ?= configs/copying.py:cpu
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

DOCS_STAMP := $(VENV)/.docs-installed
PEER_STAMP := $(VENV)/.peer-installed

.PHONY: train test test-all test-lowest test-newest lint docs bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e ".[train,test]"
	touch $(STAMP)

train: $(STAMP)
	$(VENV)/bin/python train.py --config=$(CONFIG) --workdir=$(WORKDIR)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n auto --dist loadgroup -m "not slow" $(PYTEST_ARGS)

test-all: $(PEER_STAMP)
	$(VENV)/bin/python -m pytest -q -n auto --dist loadgroup $(PYTEST_ARGS)

# the library's tests at other version sets (fast tier only, to keep CI short)
$(VENV)-lowest/.installed: pyproject.toml constraints-lowest.txt
	$(PYTHON) -m venv $(VENV)-lowest
	$(VENV)-lowest/bin/python -m pip install -q --upgrade pip
	$(VENV)-lowest/bin/python -m pip install -q -c constraints-lowest.txt -e ".[train,test]"
	touch $@

test-lowest: $(VENV)-lowest/.installed
	$(VENV)-lowest/bin/python -m pytest -q -n auto --dist loadgroup -m "not slow" $(PYTEST_ARGS)

$(VENV)-newest/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)-newest
	$(VENV)-newest/bin/python -m pip install -q --upgrade pip
	$(VENV)-newest/bin/python -m pip install -q --upgrade -e ".[train,test]"
	touch $@

test-newest: $(STAMP)
	@$(VENV)/bin/python -m pip install -q --dry-run --ignore-installed --report $(VENV)/newest.json -e ".[train,test]"
	@newer="$$($(VENV)/bin/python -m scripts.newer_than_pins $(VENV)/newest.json)"; \
	if [ -n "$$newer" ]; then echo "newer than constraints.txt:"; echo "$$newer"; \
	  $(MAKE) $(VENV)-newest/.installed && \
	  $(VENV)-newest/bin/python -m pytest -q -n auto --dist loadgroup -m "not slow" $(PYTEST_ARGS); \
	else echo "test-newest: each direct dependency's newest release is its constraints.txt pin, which test-all ran"; fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# the peer extra (torch, CPU build): benchmarks/peer_pytorch.py and its test, in test-all
$(PEER_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e ".[train,test,peer]"
	touch $(PEER_STAMP)

$(DOCS_STAMP): $(STAMP)
	$(VENV)/bin/python -m pip install -q -c constraints.txt -e ".[train,test,docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(VENV)/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks.rotation

clean-venv:
	rm -rf $(VENV)
