# Two commands work on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean postgres browser
# The browser tests drive Debian's headless Chromium (Playwright cannot download its own here).
BROWSER_PACKAGES := chromium chromium-driver

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

test: $(STAMP) postgres browser
	$(BIN)/python -m pytest

browser:
	@missing=$$(for p in $(BROWSER_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing for the browser tests"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/replay.py

clean:
	rm -rf $(VENV) nbadb-data .pytest_cache
