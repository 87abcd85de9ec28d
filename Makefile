# meshworks: the two commands a fresh machine needs are `make synth` and `make test`.
# Each installs what is missing (Python venv, the package in editable mode, the pinned CDK CLI
# and a supported Node.js from npm) and is a no-op install on the second run.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(CURDIR)/node_modules/.bin
# Run the CDK (CLI and jsii) on the pinned Node 22 from package.json, offline and quietly.
export PATH := $(BIN):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# Python caches compiled modules (__pycache__/, git-ignored) even where the environment sets PYTHONDONTWRITEBYTECODE
# (this project's CI machines do): otherwise every synth recompiles the package's 33,000 lines (~0.1 s) and every
# test worker the package and the suite.
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
.PHONY: help install install-airflow install-locked lock synth validate diff deploy test lint bench wheel clean

help:
	@echo "make synth   install what is missing, synthesize the reference app into cdk.out/ (cdk-nag on) [CONTEXT='-c meshworks.…=…']"
	@echo "make validate   make synth plus aws-cdk-lib's built-in CloudFormation validator (CI runs it once)"
	@echo "make test    install what is missing, run the whole test suite"
	@echo "make diff / make deploy [STACKS='Foundation Spark'] [CONTEXT='-c meshworks.…=…']   cdk diff / deploy (stack ids as cdk ls prints them; needs AWS credentials)"
	@echo "make lint    ruff"
	@echo "make bench   benchmarks (prints figures; see benchmarks/RESULTS.md)"

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

# The DAGs are tested on the exact MWAA runtime: Python 3.12 and Airflow 3.0.6 installed against its constraints
# file, in a virtual environment of their own (Airflow's pins conflict with the CDK's). PYTHON_AIRFLOW: a 3.12.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_CONSTRAINTS := dags/constraints-3.0.6-py3.12.txt
PYTHON_AIRFLOW ?= $(shell for p in $(HOME)/.pyenv/versions/3.12*/bin/python3.12 python3.12; do "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null && command -v "$$p" && break; done)
$(AIRFLOW_VENV)/.installed: dags/requirements-test.txt $(AIRFLOW_CONSTRAINTS)
	@test -n "$(PYTHON_AIRFLOW)" || { echo "Python 3.12 (what MWAA runs) not found: install it (e.g. pyenv install 3.12) or set PYTHON_AIRFLOW=/path/to/python3.12"; exit 1; }
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON_AIRFLOW) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r dags/requirements-test.txt -c $(AIRFLOW_CONSTRAINTS)
	touch $@

install-airflow: $(AIRFLOW_VENV)/.installed

# The deploy path (.github/workflows/deploy-stage.yml): runtime dependencies only, every file checked against
# the hashes in requirements-deploy.lock, the package itself without dependency resolution, the pinned CLI.
install-locked:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements-deploy.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

# Regenerate requirements-deploy.lock after changing pyproject.toml's dependencies (needs PyPI).
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml requirements-deploy.in --generate-hashes --python-version 3.11 \
		--no-header --index-url https://pypi.org/simple -o requirements-deploy.lock


# Each check once: `make synth` runs cdk-nag but not aws-cdk-lib's built-in CloudFormation validator
# (~2-4 s a synth), because `make test` runs cfn-lint on every template; `make validate` runs both,
# once, in CI (its findings, warnings by default, are errors there).
synth: install
	rm -rf cdk.out
	$(BIN)/cdk synth --quiet --no-notices --ci --no-validation $(CONTEXT)
	@echo "synthesized in cdk.out/: $$(ls cdk.out/*.template.json | grep -vc '\.product\.') stack templates + $$(ls cdk.out/*.product.template.json 2>/dev/null | wc -l) Service Catalog product template(s)"

validate: install
	rm -rf cdk.out
	$(BIN)/cdk synth --quiet --no-notices --ci --validation -c @aws-cdk/core:validateAgainstDefaultRules=true $(CONTEXT)
	@echo "synthesized and validated in cdk.out/: $$(ls cdk.out/*.template.json | grep -vc '\.product\.') stack templates + $$(ls cdk.out/*.product.template.json 2>/dev/null | wc -l) Service Catalog product template(s)"

# Deploying needs AWS credentials. STACKS takes stack ids as `cdk ls` prints them first (e.g. Foundation,
# 'MeshProducts-*'), not CloudFormation stack names: the CLI selects by construct id. Default: every stack.
# CONTEXT takes `-c meshworks.…=…` overrides.
STACKS ?=
CONTEXT ?=
APPROVAL ?= broadening
_stack_names := $(shell printf '%s\n' $(STACKS) | grep -E '^[a-z0-9][a-z0-9-]*$$')
define check_stacks
	$(if $(_stack_names),$(error STACKS=$(_stack_names): give stack ids as `cdk ls` prints them first \
	(e.g. STACKS=Foundation for meshworks-demo-foundation), not stack names))
endef

diff: install
	$(call check_stacks)
	$(BIN)/cdk diff $(STACKS) $(CONTEXT)

deploy: install
	$(call check_stacks)
	$(BIN)/cdk deploy $(or $(STACKS),--all) --require-approval $(APPROVAL) $(CONTEXT)

# The CDK suite on two pytest-xdist workers (a file's tests stay on one worker; the reference app is synthesized
# once for both: tests/conftest.py) and, at the same time, the DAG suite on the MWAA runtime (dags/tests, its own
# pytest.ini), whose output is printed after the CDK suite's. Either suite failing fails make test.
# PYTEST_WORKERS=0 runs the CDK suite in one process.
PYTEST_WORKERS ?= 2
DAG_TESTS = $(AIRFLOW_VENV)/bin/python -m pytest -c dags/tests/pytest.ini --rootdir dags dags/tests
test: install install-airflow
	@dag_log=$$(mktemp); \
	$(DAG_TESTS) >"$$dag_log" 2>&1 & dag_pid=$$!; \
	echo "CDK suite ($(PYTEST_WORKERS) workers); DAG suite running alongside, its output follows"; \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile; cdk_status=$$?; \
	wait $$dag_pid; dag_status=$$?; \
	echo "--- DAG suite (.venv-airflow, dags/tests) ---"; cat "$$dag_log"; rm -f "$$dag_log"; \
	echo "CDK suite exit $$cdk_status, DAG suite exit $$dag_status"; \
	test $$cdk_status -eq 0 && test $$dag_status -eq 0

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) benchmarks/synth_bench.py

wheel: install
	rm -rf build
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf cdk.out dist build *.egg-info
