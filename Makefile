# incidentml: the project's commands. Every target installs what it needs first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint check-wheel ci bench clean

install: $(STAMP)

# Re-install only when the packaging files change; otherwise this is a no-op.
$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(PY) -m incidentml.demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider tests src/incidentml --nbmake notebooks

# Static checks of the library's code: ruff (lint and import order) and mypy (types).
lint: install
	$(VENV)/bin/ruff check src
	$(VENV)/bin/mypy src/incidentml

# Build the sdist and wheel, install the wheel in a fresh venv, run the demo and the CLI from it.
check-wheel: install
	PY=$(PY) bash .ci/check-wheel

# Everything CI runs.
ci: test lint check-wheel

bench: install
	@mkdir -p benchmarks/results
	@set -e; for b in benchmarks/[!_]*.py; do \
		name=$$(basename $$b .py); \
		echo "== benchmark $$name =="; \
		$(PY) $$b --json benchmarks/results/$$name.json; \
	done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
