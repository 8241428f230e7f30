# Two commands that work on a fresh machine with Python >= 3.10 and make:
#   make train   trains the default experiment (Copying Memory, CPU-sized) into $(WORKDIR)
#   make test    runs the test suite
# Each creates (or reuses) the virtual environment $(VENV) from pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
WORKDIR ?= runs/copying_cpu
CONFIG ?= configs/copying.py:cpu
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: train test bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[test]"
	touch $(STAMP)

train: $(STAMP)
	$(VENV)/bin/python train.py --config=$(CONFIG) --workdir=$(WORKDIR)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks.rotation

clean-venv:
	rm -rf $(VENV)
