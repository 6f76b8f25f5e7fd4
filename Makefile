# airrc developer commands. Every target works on a fresh machine: it creates .venv and installs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo [ARGS=--keep]: two nodes as real processes on loopback (embedded SQLite)
demo: install
	$(BIN)/python -m harness.demo $(ARGS)

## make test: the whole suite, PostgreSQL tests included (the fixture starts its own server)
test: install
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts harness
	$(BIN)/ruff format --check src tests bench scripts harness
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

## make bench: benchmarks in bench/, results in bench/RESULTS.md
bench: install
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/federation.py
	$(BIN)/python bench/hotline.py
	$(BIN)/python bench/exchange.py
	$(BIN)/python bench/exchange_search.py
	$(BIN)/python bench/media.py
	$(BIN)/python bench/standards.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
