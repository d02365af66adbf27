# Two commands: `make run` serves the product on the embedded default; `make test` checks it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
HASH := $(shell cat pyproject.toml client/pyproject.toml | sha1sum | cut -c1-10)
RUN_STAMP := $(VENV)/.run-$(HASH)
DEV_STAMP := $(VENV)/.dev-$(HASH)

# The test suite talks to real services; these are this machine's (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dealstream
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint typecheck pytest install install-dev browser worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]' -e ./client
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --no-server-header

# Debian's Chromium drives the browser tests (Playwright's own download is not used); nginx runs
# the example proxy configuration of docker/ in front of a real web process.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  echo "Installing Debian's nginx-light for the proxy tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .
	$(BIN)/mypy --config-file client/pyproject.toml client/src

pytest: install-dev browser
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

worker: install
	$(BIN)/celery -A config worker --loglevel INFO

beat: install
	$(BIN)/celery -A config beat --loglevel INFO

clean:
	rm -rf $(VENV) db.sqlite3 test-db.sqlite3 media staticfiles .mypy_cache .ruff_cache
