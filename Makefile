# One command each for the demo and the tests; both create .venv and install when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export SEND_WAREHOUSE ?= $(CURDIR)/data/warehouse/send.duckdb
export SEND_RAW ?= $(CURDIR)/data/raw
export DO_NOT_TRACK := 1

SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: install install-spark demo test test-spark lint clean dagster

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# the project's own modules compiled once, as pip compiles the libraries: where PYTHONDONTWRITEBYTECODE
	@# is set (CI, containers), every command and test process would otherwise compile them again (~0.2 s each)
	$(BIN)/python -m compileall -q pipelines demo > /dev/null
	@touch $(STAMP)

install: $(STAMP)

# The Spark target's extra (pyspark, dbt-spark): only for `make test-spark` and Spark builds.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

# The Dagster UI with the schedule and the drop-zone sensor (http://127.0.0.1:3000).
dagster: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dagster dev -m pipelines.definitions

lint: $(STAMP)
	$(BIN)/ruff check pipelines demo tests benchmarks
	@if ls dbt_project/models/*/*.sql dbt_project/models/*/*/*.sql >/dev/null 2>&1; then \
		cd dbt_project && ../$(BIN)/sqlfluff lint models --processes 2; fi

# The suite in TEST_WORKERS pytest-xdist processes (default 2, the project's machines' cores); each
# worker has its own dbt target folder; the shared warehouses are built once per run (tests/conftest.py).
# --dist loadfile --no-loadscope-reorder: each module on one worker (its module fixtures built once), handed
# out in the order of tests/conftest.py's pytest_collection_modifyitems (the longest work first).
TEST_WORKERS ?= 2
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The DuckDB-Spark parity test on the real data (tests/test_spark_parity.py; needs Java 17).
test-spark: $(SPARK_STAMP)
	$(BIN)/python -m pytest -m spark -s tests/test_spark_parity.py

clean:
	rm -rf data/warehouse/*.duckdb* data/spark dbt_project/target dbt_project/logs
