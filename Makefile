# delai: `make run` to see it work, `make test` to check it. `make help` lists everything.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs the locked stack in seconds; it is bootstrapped into .tools when not on PATH.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
DATA ?= data

export MLFLOW_DISABLE_TELEMETRY := true
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help setup run test test-all lint audit format bench bench-simulate bench-accuracy bench-serve bench-predict bench-whatif clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# Compiled at install: with no bytecode cache (or where it cannot be written) every `delai`
# command would compile MLflow, scikit-learn and the rest again (measured: 21 s -> 12 s for
# `delai predict` of 100,000 rows).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: $(VENV)/.synced ## create .venv with the locked dependencies (idempotent)

run: setup ## demo data if there is none, validate it, train (once per data), serve on :8000
	$(BIN)/delai demo --data-dir $(DATA)
	@test -f mlflow.db || rm -f $(DATA)/.trained
	@$(MAKE) --no-print-directory $(DATA)/.trained
	$(BIN)/delai serve

# Trained once per demo data: the stamp is newer than the data, and the store still exists.
$(DATA)/.trained: $(DATA)/applications.parquet
	$(BIN)/delai train --data $< \
		$(if $(wildcard $(DATA)/capacity.parquet),--capacity $(DATA)/capacity.parquet)
	@touch $@

test: setup ## the test suite (what CI runs); slow and bench tests excluded
	$(BIN)/pytest

test-all: setup ## every test, slow ones included
	$(BIN)/pytest -m "not bench"

lint: setup ## ruff (style, imports, bugs), mypy on forecasting/, and the dependency audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@$(MAKE) --no-print-directory audit

# pip-audit fails on any known vulnerability; a package the index has no advisory data for is
# counted as not audited (and said so), not as safe.
AUDIT := $(VENV)/pip-audit.json
audit: setup ## known vulnerabilities in the installed, locked dependencies (pip-audit)
	$(BIN)/pip-audit --skip-editable --progress-spinner off --desc off --format json \
		--output $(AUDIT) || (echo "pip-audit: known vulnerabilities, see $(AUDIT)"; exit 1)
	@$(BIN)/python -c 'import json; d = json.load(open("$(AUDIT)"))["dependencies"]; \
		s = sum("skip_reason" in x for x in d); v = sum(len(x.get("vulns", [])) for x in d); \
		print(f"pip-audit: {len(d) - s} packages audited, {v} known vulnerabilities; " \
		f"{s} not audited (the index gave no advisory data for them)")'

format: setup ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: bench-simulate bench-accuracy bench-whatif bench-serve bench-predict ## every benchmark (prints measured figures and ratios to targets)

bench-simulate: setup ## simulate ~1 million applications and time it against the 30 s target
	$(BIN)/python -m experiments.bench_simulate

bench-accuracy: setup ## rolling-origin accuracy of every model on simulated scenarios and real logs
	$(BIN)/python -m experiments.bench_accuracy

bench-whatif: setup ## what-ifs against the simulator's truth in 4 worlds, and their speed
	$(BIN)/python -m experiments.bench_whatif

bench-serve: setup ## wrk on loopback: /v1/estimate vs a bare route and vs mlflow models serve
	$(BIN)/python -m experiments.bench_serve

bench-predict: setup ## delai predict on 100,000 requests: the whole command and its stages vs 5 s
	$(BIN)/python -m experiments.bench_predict

clean: ## remove the virtualenv, caches and demo outputs
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache $(DATA) mlflow.db mlartifacts \
		.delai-cache .bench-serve
