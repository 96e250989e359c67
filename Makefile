# Two commands set everything up on a fresh machine (Python 3.11):
#   make run   — create .venv, install yibao, build the demo region, print what a bureau looks at,
#                then serve the API and pages on http://127.0.0.1:8000/ with demo accounts
#   make test  — create .venv, install yibao with its test tools, run ruff, mypy, pytest and a
#                quick benchmark
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit postgres system bench-quick bench bench-admin mutation migration clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -m pip install -q -e '.[dev,bench,spark]' 2>&1 | grep -v "is ignored" || true
	@$(BIN)/python -c "import yibao, numba, openfisca_core, splink, pyspark, plotly" || (echo "installation failed" && exit 1)
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/yibao demo
	$(BIN)/yibao serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

# The database tests need the PostgreSQL server at 127.0.0.1:5432 (trust auth); start the local
# cluster if it is installed but down. The tests fail, not skip, when it cannot be reached.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || { command -v pg_ctlcluster >/dev/null && \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start; } || true

# Debian packages the tests need: Chromium for the browser tests (Playwright drives it through
# executable_path; a browser download never works here), CJK fonts so Chinese pages render, Java
# for the Spark local-mode tests. Installed with apt-get only when one is missing.
SYSTEM_PKGS := chromium fonts-noto-cjk openjdk-17-jre-headless
SUDO := $(shell test "$$(id -u)" = 0 || echo sudo)
system:
	@missing=$$(for p in $(SYSTEM_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	  grep -q "install ok installed" || echo $$p; done | tr "\n" " "); \
	if [ -n "$$missing" ]; then echo "apt-get install $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	  --no-install-recommends $$missing >/dev/null || { echo "installing $$missing failed"; exit 1; }; fi

# --durations: the CI log names the slowest tests (the test command must stay under 20 minutes)
unit: $(STAMP) postgres system
	$(BIN)/pytest --durations=15

bench-quick: $(STAMP)
	$(BIN)/yibao bench --quick

test: lint typecheck unit bench-quick

# The browser tests save the main pages into tests/.screenshots/ (ignored); this refreshes the
# committed copies the README shows.
screenshots: $(STAMP) postgres system
	$(BIN)/pytest -q tests/test_web_browser.py tests/admin/test_web_staff.py
	mkdir -p docs/screenshots && cp tests/.screenshots/*.png docs/screenshots/

bench: $(STAMP)
	$(BIN)/yibao bench rules

bench-admin: $(STAMP) postgres
	$(BIN)/yibao bench admin

mutation: $(STAMP)
	NUMBA_DISABLE_JIT=1 $(BIN)/mutmut run; $(BIN)/mutmut results | tail -n 5

# Until the first release the schema is one migration regenerated from the models (0001), plus
# hand-written ones that models cannot express (0002: lz4 compression, 0003: append-only audit
# triggers), kept aside meanwhile.
MIGRATIONS := src/yibao/db/migrations/versions
migration: $(STAMP)
	rm -f $(MIGRATIONS)/0001_*.py /tmp/yibao-migration.db; mkdir -p /tmp/yibao-kept
	mv $(MIGRATIONS)/000[23]_*.py /tmp/yibao-kept/
	$(BIN)/python -c "from alembic import command; from yibao.db.engine import make_engine; \
	from yibao.db.migrate import alembic_config; \
	command.revision(alembic_config(make_engine('sqlite:////tmp/yibao-migration.db')), \
	message='initial schema', autogenerate=True, rev_id='0001')"; \
	status=$$?; mv /tmp/yibao-kept/000[23]_*.py $(MIGRATIONS)/; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
