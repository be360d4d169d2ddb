# The two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_ARGS ?=

.PHONY: demo test browser lint typecheck unit bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[mitigation,server,report]"
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

# Two workers (the suite waits on PostgreSQL, NATS, browsers and subprocesses as much as on the CPU),
# then the tests that must run alone because they disturb shared services.
PYTEST_WORKERS ?= 2

unit: $(VENV)/.test-installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not exclusive" --junitxml=$(VENV)/junit.xml $(PYTEST_ARGS)
	$(BIN)/python -m pytest -p no:xdist -m exclusive --junitxml=$(VENV)/junit-exclusive.xml $(PYTEST_ARGS)
	$(BIN)/python tests/_ci_assert_ran.py $(VENV)/junit.xml $(VENV)/junit-exclusive.xml

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/metrics_vs_fairlearn.py

# The documentation site, built offline into site/ (every example in it also runs in `make test`).
docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist site
