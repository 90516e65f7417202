# fusionbook: two commands on a fresh machine (Python 3.11, package registries reachable).
#   make book   create .venv, execute every chapter (smoke profile, embedded data), build _build/html
#   make test   create .venv if needed and run every test (unit tests, notebooks with nbval, site check)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= smoke
DEVICE  ?= auto
BOOK_ARGS ?=

.PHONY: env book test test-unit test-notebooks clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[book,test]"
	touch $@

book: env
	$(PY) -m fusionlib.book --profile $(PROFILE) --device $(DEVICE) $(BOOK_ARGS)

# unit tests: 2 xdist workers, one BLAS/OpenMP thread each (tests/conftest.py sets torch's; idle
# OpenBLAS threads spin, and 2 workers x 2 spinning threads on 2 cores stall each other)
UNIT_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

test: env
	$(UNIT_ENV) $(PY) -m pytest -q -n 2 tests
	$(PY) -m pytest -q --nbval-lax --nbval-current-env book

test-unit: env
	$(UNIT_ENV) $(PY) -m pytest -q -n 2 tests

test-notebooks: env
	$(PY) -m pytest -q --nbval-lax --nbval-current-env book

clean:
	rm -rf _build
