# SMS Gateway: the two commands a newcomer needs.
#   make run    create the environment, install, start the gateway (embedded simulator, SQLite)
#   make test   install and run every test, on SQLite and on PostgreSQL

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run cluster test test-sqlite test-postgresql install bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

# A throwaway PostgreSQL, one SMSC simulator and two gateway nodes on this machine,
# until Ctrl-C (README, "Cluster")
cluster: $(STAMP)
	$(BIN)/python -m smsgw_cli.cluster

PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider

# The whole suite once per store backend (tests/stores.py reads TEST_STORE), the two
# runs side by side (each waits on sockets and its database as much as on a core);
# each run's report is printed whole when it ends.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

test-sqlite: $(STAMP)
	TEST_STORE=sqlite $(PYTEST)

# tests/cluster start their own PostgreSQL whatever the store: run once, with SQLite's pass
test-postgresql: $(STAMP)
	TEST_STORE=postgresql $(PYTEST) --ignore=tests/cluster

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_codec.py
	$(BIN)/python bench/bench_simulator.py

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
