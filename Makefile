# lake-assets — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Dagster instance lives in the project (dagster.yaml; its storage in .dagster/).
export DAGSTER_HOME ?= $(CURDIR)
export PYTHON := $(BIN)/python

ASSETS := raw_reports,decoded_reports,reports_table,reports_daily
# The demo's table copies (devices: full; device_events: daily), with the reports.
DEMO_COPIES := $(CURDIR)/lake_assets/demo/copies.yaml
DAILY_COPIES := copies/device_events
FULL_COPIES := copies/devices
# the run's progress and checks, without Dagster's DEBUG event lines
QUIET := --config-json '{"loggers": {"console": {"config": {"log_level": "INFO"}}}}'
DEMO_DAYS ?= 7
BENCH_DAYS ?= 7
# what ruff checks and formats
CODE := lake_assets lake_assets_tests bench

.PHONY: help install mysql postgres demo dev prod-local test check static lint format bench clean screenshots

help:
	@echo "make demo   seed MySQL with $(DEMO_DAYS) demo days, backfill them as one run, copy the demo's"
	@echo "            tables (lake_assets/demo/copies.yaml), print the answer"
	@echo "make test   lint and run the whole test suite (needs MySQL and PostgreSQL: started or"
	@echo "            installed if they can be), on every core"
	@echo "make check  the fast loop (~2 min): lint, import contracts, the tests that start no"
	@echo "            Dagster process, webserver, daemon, S3 server or install"
	@echo "make dev    the Dagster UI (dagster dev) on the demo data, http://127.0.0.1:3000"
	@echo "make prod-local  the production stack on this machine: the instance on PostgreSQL,"
	@echo "            the code server (gRPC), dagster-webserver and dagster-daemon; Ctrl-C stops it"
	@echo "make screenshots  remake the docs' pictures (headless Chromium) from the demo"
	@echo "make bench  benchmarks at production scale: decoder, whole pipeline vs the old flow,"
	@echo "            publishing a day as Hive partitions vs an Iceberg commit,"
	@echo "            a 1M-row table copy vs connectorx and dlt, a multi-run backfill's days per"
	@echo "            hour under make prod-local (1 vs 2 runs at once)"

# uv installs the same packages as pip from the same registry, in seconds rather than minutes
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON_BOOT) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[dev]'
	@touch $@

install: $(STAMP)

mysql: install
	@scripts/ensure-mysql

postgres: install
	@scripts/ensure-postgres

demo dev prod-local: export LAKE_COPIES ?= $(DEMO_COPIES)
demo: install mysql
	$(BIN)/lake-assets demo pin-start --days $(DEMO_DAYS)
	$(BIN)/lake-assets demo seed --days $(DEMO_DAYS)
	$(BIN)/dg launch --assets $(ASSETS),$(DAILY_COPIES) $(QUIET) \
	  --partition-range "$$($(BIN)/lake-assets demo range --days $(DEMO_DAYS))"
	$(BIN)/dg launch --assets $(FULL_COPIES) $(QUIET)
	@echo
	$(BIN)/lake-assets demo report

screenshots: demo
	scripts/screenshots

dev: demo
	$(BIN)/dagster instance concurrency set lake_catalog 1 >/dev/null
	$(BIN)/dagster dev -w workspace.yaml

# deploy/dagster.yaml on PostgreSQL (DAGSTER_PG_*, database lake_dagster), with the demo's data
prod-local: export DAGSTER_HOME := $(CURDIR)/.dagster-prod
prod-local: install mysql postgres
	scripts/prod-local

# Every test, on every core (pytest-xdist: each test has its own MySQL database, PostgreSQL
# database, ports, lake and Dagster instance), with one worker more than cores: a third of the
# suite waits on processes it started (a daemon, a schedule's minute), and on 2 cores 3
# workers finish in 7 min where 2 take 8 min 20 s (4 take 7 min 10 s).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: install mysql postgres static
	LAKE_REQUIRE_MYSQL=1 LAKE_REQUIRE_POSTGRES=1 $(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

# The loop while you work: lint, the import contracts, and the tests that start no Dagster
# process, webserver, daemon, S3 server or install, nor wait out a real timeout or walk every
# interleaving of two runs (markers in pyproject.toml), with fewer property examples.
# `make test` still runs everything, and is what CI runs.
CHECK_SKIPS := not (cli or webserver or daemon or s3_server or install or interleavings or waits)
check: install mysql static
	HYPOTHESIS_PROFILE=dev LAKE_REQUIRE_MYSQL=1 $(BIN)/pytest -n $(TEST_WORKERS) -q -m "$(CHECK_SKIPS)"

# ruff's rules and the import contracts (the floor plan): the first step of test and check
static: install
	$(BIN)/ruff check $(CODE)
	$(BIN)/lint-imports

lint: static
	$(BIN)/ruff format --check $(CODE)

format: install
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

bench: install mysql postgres
	$(BIN)/uv pip install --python $(BIN)/python -q -e '.[dev,bench]'
	$(BIN)/python bench/decoder.py
	$(BIN)/python bench/pipeline.py --days $(BENCH_DAYS)
	$(BIN)/python bench/rollup.py
	cd bench && ../$(BIN)/python publish.py --days $(BENCH_DAYS)
	$(BIN)/python bench/extract_query.py --days $(BENCH_DAYS)
	cd bench && ../$(BIN)/python copy_table.py
	$(BIN)/python bench/backfill_throughput.py

clean:
	rm -rf .lake .dagster .pytest_cache .ruff_cache .hypothesis
