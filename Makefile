# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install system-deps lint typecheck pytest screenshots bench clean

demo: install
	$(BIN)/magflow-console demo

test: install system-deps lint typecheck pytest

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

# Debian packages the tests need: a Docker engine (docker.io) and a static busybox
# for the offline test image. Installed only when missing; needs root and apt.
system-deps:
	bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check magflow_console tests bench scripts
	$(BIN)/ruff format --check magflow_console tests bench scripts
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -p no:cacheprovider

screenshots: install
	$(BIN)/python scripts/make_screenshots.py

# every benchmark of "Fast over SSH", then BENCHMARKS.md (bench/run_all.py; about 12 min here,
# 2-3 more the first time, when it seeds the big database into /tmp/mfc-bench-db);
# BENCH_ARGS=--quick for short windows while iterating
bench: install
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
