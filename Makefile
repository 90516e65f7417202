# fusionbook: two commands on a fresh machine (Python 3.11, package registries reachable).
#   make book   create .venv, execute every chapter (smoke profile, embedded data) into _build/, build _build/html
#   make test   create .venv if needed and run every test stage (unit, variant, smoke execution of every
#               chapter, nbval of the committed standard outputs, site check)
#   make published   build the site from the committed notebooks (standard outputs on the real data)
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PROFILE ?= smoke
DEVICE  ?= auto
BOOK_ARGS ?=

.PHONY: env lock book published test test-unit test-variant test-smoke test-notebooks test-site clean

env: $(VENV)/.installed

# Every package at the exact version and hash of requirements-lock.txt (the book, test and CPU-torch
# sets), then fusionlib itself without dependencies. Nothing is resolved at install time.
$(VENV)/.installed: pyproject.toml requirements-lock.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-lock.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Regenerate the lock from pyproject.toml (+ constraints.txt) with pip-tools; commit the result.
PIP_TOOLS ?= pip-tools==7.7.0
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_TOOLS)
	$(VENV)/bin/pip-compile --quiet --resolver=backtracking --extra book --extra test --extra dask --generate-hashes \
	  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -c constraints.txt \
	  -o requirements-lock.txt pyproject.toml

book: env
	$(PY) -m fusionlib.book --profile $(PROFILE) --device $(DEVICE) $(BOOK_ARGS)

# the published book: no execution, no data needed; each page of book/_variants.yml from book/<page>.ipynb
published: env
	$(PY) -m fusionlib.book --published $(BOOK_ARGS)

# unit tests: 2 xdist workers, one BLAS/OpenMP thread each (tests/conftest.py sets torch's; idle
# OpenBLAS threads spin, and 2 workers x 2 spinning threads on 2 cores stall each other); then the
# Examples sections of fusionlib's docstrings (doctests, a few seconds in one process)
UNIT_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# make test runs every stage even when an earlier one fails, names the failed stages, and exits non-zero
# when any failed.
test: env
	@failed=""; \
	$(MAKE) --no-print-directory test-unit || failed="$$failed unit"; \
	$(MAKE) --no-print-directory test-variant || failed="$$failed variant"; \
	$(MAKE) --no-print-directory test-smoke || failed="$$failed smoke"; \
	$(MAKE) --no-print-directory test-notebooks || failed="$$failed nbval-standard"; \
	$(MAKE) --no-print-directory test-site || failed="$$failed site"; \
	if [ -n "$$failed" ]; then echo "make test: stages failed:$$failed"; exit 1; fi; \
	echo "make test: every stage passed (unit, variant, smoke, nbval-standard, site)"

test-unit: env
	$(UNIT_ENV) $(PY) -m pytest -q -n 2 tests --ignore=tests/book/test_site.py
	$(UNIT_ENV) $(PY) -m pytest -q --doctest-modules fusionlib

# The unit tests again with a different numerical path: torch's scalar kernels (no AVX2/AVX-512), i.e.
# other reduction orders, as on another CPU. Other variations (FUSIONLIB_JIT=0, threads, OpenBLAS
# kernels) are run by hand: DEVELOPING.md, "Tolerances".
VARIANT_ENV ?= ATEN_CPU_CAPABILITY=default
test-variant: env
	$(UNIT_ENV) $(VARIANT_ENV) $(PY) -m pytest -q -n 2 tests --ignore=tests/book/test_site.py -m "not slow"

# Every chapter and page executed with papermill in the smoke profile (embedded data) into a temporary
# folder; fails on any error. Nothing committed changes.
test-smoke: env
	@tmp=$$(mktemp -d); $(PY) -m fusionlib.book --profile smoke --output-dir "$$tmp"; rc=$$?; rm -rf "$$tmp"; exit $$rc

# nbval of the committed standard outputs (metadata.fusionbook.profile == standard), one notebook per xdist
# worker (--dist loadfile keeps a notebook's cells in one kernel), when the real data is found; skipped with
# the reason otherwise, and for committed notebooks whose outputs are not standard (the list on stderr).
test-notebooks: env
	@files=$$($(PY) -m fusionlib.book --committed-standard) || exit 1; \
	if [ -z "$$files" ]; then echo "test-notebooks: skipped: no committed standard outputs to check (reasons above)"; exit 0; fi; \
	$(UNIT_ENV) $(PY) -m pytest -q -n 2 --dist loadfile --nbval-lax --nbval-current-env $$files

test-site: env
	$(PY) -m pytest -q tests/book/test_site.py

clean:
	rm -rf _build
