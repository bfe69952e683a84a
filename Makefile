# One command per task, used by people and CI alike.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint typecheck unit integration e2e bench clean

## Everything the tests need: the package with the dev extra (about 140 distributions).
install: $(STAMP)

$(STAMP): pyproject.toml
	@echo "== installing k8s-mlserve with the dev extra into $(VENV) (tests, linters, MLflow, locust)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar off -e ".[dev]"
	touch $(STAMP)

# Serving only: no extras (docs/install.md); skipped when the dev install is there.
$(SERVE_STAMP): pyproject.toml
	@echo "== installing k8s-mlserve for serving into $(VENV) (no extras, about 40 distributions)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar off -e .
	touch $(SERVE_STAMP)

## Train the iris example and serve it on $(HOST):$(PORT) with a fresh API key (make demo PORT=8080).
demo: $(if $(wildcard $(STAMP)),$(STAMP),$(SERVE_STAMP))
	$(BIN)/k8s-mlserve demo --host $(HOST) --port $(PORT)

## Lint, type-check, then the whole test suite (suites needing Docker or a cluster skip, saying why).
test: install lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

## ruff, and the import contracts of .importlinter (layers, no cycles, forbidden imports).
lint: install
	$(BIN)/ruff check src tests benchmarks loadtests examples
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: install
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

## End-to-end suites on a cluster: a kind cluster made for the run, or an existing one with
## K8S_MLSERVE_KUBECONFIG=path (see docs/e2e.md).
E2E_CLUSTER ?= $(if $(K8S_MLSERVE_KUBECONFIG),,--kind)
e2e: install
	$(BIN)/pytest tests/e2e $(E2E_CLUSTER) $(PYTEST_ARGS)

## Throughput, latency, start and memory against FastAPI, MLServer and a bare Starlette app
## on the same core, and with shadow scoring at 10 % and 100 % (writes benchmarks/results/;
## see docs/performance.md).
bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .demo build dist src/*.egg-info .mypy_cache .ruff_cache
