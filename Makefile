# Dockyard's two commands: `make demo` and `make test`. Each creates .venv when missing and installs what it
# needs from the lock files in requirements/ (hash-checked), so a new release of a dependency elsewhere
# cannot change what they run; nothing else is required but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet
# Dockyard itself, editable, with nothing from the index: its dependencies come from the lock.
SELF := $(PIP) --no-deps --no-build-isolation -e .
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url
# pip-compile lists the project itself (its extras refer to it): the lock holds only its dependencies.
DROP_SELF := $(PY) requirements/drop_self.py

.PHONY: chromium test test-fast test-latest demo lint lock dist bench bench-server bench-models soak clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Full install for the tests: every extra plus the dev tools, exactly as locked.
$(VENV)/.installed-all: requirements/dev.txt pyproject.toml | $(PY)
	$(PIP) --require-hashes -r requirements/dev.txt
	$(SELF)
	rm -f $(VENV)/.installed-demo
	touch $@

# The demo needs the scikit-learn, Optuna and scoring-server extras (a subset of the dev lock).
$(VENV)/.installed-demo: requirements/demo.txt pyproject.toml | $(PY)
	[ -f $(VENV)/.installed-all ] || $(PIP) --require-hashes -r requirements/demo.txt
	[ -f $(VENV)/.installed-all ] || $(SELF)
	touch $@

# The web UI's tests drive Debian's Chromium (Playwright's own browser download needs internet access).
chromium:
	command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

# The compatibility suite (tests/compat) runs a real `mlflow server` beside Dockyard's: the full mlflow
# package, in its own environment and from its own lock (its pins differ from the project's).
MLFLOW_VENV := .venv-mlflow
$(MLFLOW_VENV)/.installed: requirements/mlflow-server.txt
	rm -rf $(MLFLOW_VENV)
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/mlflow-server.txt
	touch $@

test: $(VENV)/.installed-all $(MLFLOW_VENV)/.installed chromium
	DOCKYARD_TEST_MLFLOW_PYTHON=$(CURDIR)/$(MLFLOW_VENV)/bin/python $(PY) -m pytest

# The inner loop: unit and contract tests on SQLite; no servers, Spark, torch, MLflow or PostgreSQL.
test-fast: $(VENV)/.installed-all
	$(PY) -m pytest -m "not heavy" -q

# The suite against the newest release of everything (not in CI): how drift is found before it bites.
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[all,dev]'
	.venv-latest/bin/python -m pytest

demo: $(VENV)/.installed-demo
	$(VENV)/bin/dockyard demo

lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Refresh the lock files to the newest releases the bounds in pyproject.toml allow (then run make test).
lock: $(VENV)/.installed-all
	$(PIP_COMPILE) --upgrade --extra all --extra dev -o requirements/dev.txt pyproject.toml
	$(PIP_COMPILE) --upgrade --extra demo -c requirements/dev.txt -o requirements/demo.txt requirements/build.in pyproject.toml
	$(DROP_SELF) requirements/dev.txt requirements/demo.txt
	$(PIP_COMPILE) --upgrade -o requirements/mlflow-server.txt requirements/mlflow-server.in

# The wheel and the sdist, into dist/.
dist: $(VENV)/.installed-all
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

bench: $(VENV)/.installed-all
	$(PY) benchmarks/bench.py --write-results

bench-server: $(VENV)/.installed-all
	$(PY) benchmarks/server_bench.py --write-results

bench-models: $(VENV)/.installed-all
	$(PY) benchmarks/model_bench.py --write-results

# 64 clients against 2 workers on PostgreSQL for 10 minutes: p99 latency and memory (docs/operations.md).
soak: $(VENV)/.installed-all
	[ -n "$$SOAK_DB" ] || createdb dockyard_soak 2>/dev/null || true
	$(PY) benchmarks/load_bench.py --backend $${SOAK_DB:-postgresql:///dockyard_soak} --workers 2 --clients 64 --seconds 600 --write-results

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) .venv-latest .dockyard dist
