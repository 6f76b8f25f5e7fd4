# airrc developer commands. Every target works on a fresh machine: it creates .venv and installs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
NPM_STAMP := node_modules/.installed
ARGS ?=
PYTEST_ARGS ?=

# llama.cpp is built from source by pip. A native build (-march=native) picks up whatever the build machine
# has, AMX included, and segfaults on CPUs that advertise AMX in a VM; it also makes evaluation reruns depend
# on the exact CPU. Built portable (AVX2 baseline) once, kept outside the repo, reused by every checkout.
LLAMA := llama-cpp-python==0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_WHEELS := $(HOME)/.cache/airrc/wheels/llama-cpp-python-0.3.36-avx2

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	ls $(LLAMA_WHEELS)/*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(BIN)/python -m pip wheel -q --no-cache-dir --no-deps -w $(LLAMA_WHEELS) '$(LLAMA)'
	$(BIN)/python -m pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/*.whl
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The console's front-end packages, from the npm registry at the versions package-lock.json pins.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

## make demo [ARGS=--keep]: two nodes as real processes on loopback (embedded SQLite)
demo: install
	$(BIN)/python -m harness.demo $(ARGS)

## make test: the whole suite, PostgreSQL tests included (the fixture starts its own server)
test: install
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
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
