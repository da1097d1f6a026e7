# Dockyard's two commands: `make demo` and `make test`. Each creates .venv when missing and installs
# what it needs; nothing else is required but Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test demo bench bench-server bench-models lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Full install for the tests: every extra plus the dev tools.
$(VENV)/.installed-all: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $@

# The demo needs the scikit-learn, Optuna and scoring-server extras.
$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[demo]'
	touch $@

test: $(VENV)/.installed-all
	$(PY) -m pytest

demo: $(VENV)/.installed-demo
	$(VENV)/bin/dockyard demo

bench: $(VENV)/.installed-all
	$(PY) benchmarks/bench.py --write-results

bench-server: $(VENV)/.installed-all
	$(PY) benchmarks/server_bench.py --write-results

bench-models: $(VENV)/.installed-all
	$(PY) benchmarks/model_bench.py --write-results

lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .dockyard
