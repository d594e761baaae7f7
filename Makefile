# Hourglass: `make serve` to run it, `make test` to check it.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev
export HOURGLASS_TORCH_THREADS ?= 1

.PHONY: install install-dev serve test lint types contracts deploy-check pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench,sweep]'
	touch $@

install: $(STAMP)      ## create .venv and install the pinned project

install-dev: $(DEV)

serve: $(STAMP)        ## upgrade the database and serve on 127.0.0.1:$${HOURGLASS_PORT:-8000}
	$(BIN)/hourglass db upgrade
	$(BIN)/hourglass serve

lint: $(DEV)
	$(BIN)/ruff check models service hourglass_client migrations tests bench
	$(BIN)/ruff format --check models service hourglass_client migrations tests bench

contracts: $(DEV)
	$(BIN)/lint-imports

types: $(DEV)
	$(BIN)/mypy

pytest: $(DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

deploy-check: $(DEV)  ## docker-compose config, hadolint, .env.example covers every setting
	.ci/validate-deploy

test: lint contracts types deploy-check pytest  ## lint, import contracts, types and the whole test suite

bench: $(DEV)
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/anomaly.py

clean:
	rm -rf $(VENV) build *.egg-info
