# OpenPractice: `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install migrate bench bench-scale clean-data

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic_if_changed

## run: install, migrate, load the demo practice once, start the app (:8000), sandbox (:8100), Stripe stub (:8200), worker and schedule
run: migrate
	$(PY) manage.py seed_demo --quiet-if-exists
	$(PY) scripts/run.py

## test: the whole suite (SQLite, or PostgreSQL when DATABASE_URL is set)
test: $(STAMP)
	$(PY) -m pytest -n auto --maxprocesses 4

## lint: ruff (lint and format), the import layers (import-linter) and mypy, as CI runs them
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

## bench: speed and memory figures (prints a table, writes bench/results/*.json)
bench: $(STAMP)
	$(PY) -m bench

## bench-scale: pages over HTTP at 1,000,000 invoices on PostgreSQL, and 20 simulated staff (needs `pip install -e ".[load]"`)
bench-scale: $(STAMP)
	$(PY) -m bench scale

clean-data:
	rm -rf data
