# Two commands work on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The lake tests start a PostgreSQL server of the system packages (tests/test_lake.py).
POSTGRES := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
postgres:
	@test -n "$(POSTGRES)" || (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null)

run: $(STAMP)
	$(BIN)/nbadb main

test: $(STAMP) postgres
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/replay.py

clean:
	rm -rf $(VENV) nbadb-data .pytest_cache
