# One command per task, used by people and CI alike.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test lint typecheck unit integration e2e bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Train the iris example and serve it on 127.0.0.1:8000 with a fresh API key.
demo: install
	$(BIN)/k8s-mlserve demo

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
## on the same core (writes benchmarks/results/; see docs/performance.md).
bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .demo build dist src/*.egg-info .mypy_cache .ruff_cache
