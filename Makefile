# The two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: demo test browser lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[mitigation,server]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/fairwatch demo

test: $(VENV)/.test-installed browser lint typecheck unit

# Browser tests drive Debian's chromium; it comes from the system's package manager, never a download.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
		{ apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
		  { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }; }

lint: $(VENV)/.test-installed
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

unit: $(VENV)/.test-installed
	$(BIN)/python -m pytest --junitxml=$(VENV)/junit.xml $(PYTEST_ARGS)
	$(BIN)/python tests/_ci_assert_ran.py $(VENV)/junit.xml

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/metrics_vs_fairlearn.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
