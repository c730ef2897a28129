"""The same dbt project on DuckDB and on Spark gives the same marts (design.md section 9).

Both engines build from the same Parquet export of the real national data (../shared/data, loaded
by conftest's real_warehouse): DuckDB through dbt-duckdb, Spark through dbt-spark's session method
on a local pyspark. Every row of every table in the marts (and casework_restricted) schemas is
compared: numbers equal to 1e-9 (relative to their size, at least 1), everything else equal.

Slow (a Spark build) and needs the spark extra and Java 17, so it runs in `make test-spark` (which
CI's .ci/run runs after `make test`), not in `make test`: its tests carry the `spark` marker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pipelines.dbt_runner import dbt_build, dbt_parse
from pipelines.spark import (
    MART_SCHEMAS,
    build_on_spark,
    duckdb_from_parquet,
    export_raw_parquet,
    read_duckdb_tables,
    read_spark_tables,
    spark_missing_reason,
    table_differences,
)

pytestmark = [pytest.mark.real_data, pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def export(real_warehouse, tmp_path_factory) -> tuple[Path, list[str]]:
    """The real raw warehouse exported as Parquet, one folder per table."""
    out = tmp_path_factory.mktemp("parquet")
    return out, export_raw_parquet(real_warehouse, out)


@pytest.fixture(scope="module")
def timings() -> dict[str, float]:
    return {}


@pytest.fixture(scope="module")
def duckdb_marts(export, tmp_path_factory, timings):
    warehouse = tmp_path_factory.mktemp("duck_from_parquet") / "send.duckdb"
    duckdb_from_parquet(export[0], warehouse)
    started = time.monotonic()
    summary = dbt_build(warehouse)
    timings["duckdb_build_seconds"] = time.monotonic() - started
    assert summary.success, summary.sentence()
    return read_duckdb_tables(warehouse)


@pytest.fixture(scope="module")
def spark_marts(export, tmp_path_factory, monkeypatch_module, timings):
    reason = spark_missing_reason()
    if reason:
        pytest.skip(f"Spark cannot run here: {reason}")
    monkeypatch_module.setenv("SEND_SPARK_DIR", str(tmp_path_factory.mktemp("spark")))
    started = time.monotonic()
    # the data tests and unit tests run on DuckDB; on Spark the models (and seeds) are what is compared
    summary = build_on_spark(export[0], exclude="resource_type:test resource_type:unit_test")
    timings["spark_build_seconds"] = time.monotonic() - started
    assert summary.success, summary.sentence()
    return read_spark_tables()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_export_has_one_folder_per_raw_table(export):
    out, tables = export
    assert "raw.ehcp_timeliness" in tables and "raw.la_reference" in tables
    for qualified in tables:
        schema, table = qualified.split(".")
        assert list((out / schema / table).glob("*.parquet")), qualified


def test_both_engines_build_every_mart(duckdb_marts, spark_marts):
    manifest = json.loads(dbt_parse().read_text())
    published = {f"{node['schema']}.{node['alias'] or node['name']}" for node in manifest["nodes"].values()
                 if node["resource_type"] == "model" and node["schema"] in MART_SCHEMAS}
    assert published, "no marts in the manifest"
    assert set(duckdb_marts) == published
    assert set(spark_marts) == published


def test_every_row_of_every_mart_is_equal_on_duckdb_and_spark(duckdb_marts, spark_marts, timings):
    problems = []
    for name in sorted(duckdb_marts):
        problems += table_differences(name, duckdb_marts[name], spark_marts[name])
    rows = {name: frame.height for name, frame in sorted(duckdb_marts.items())}
    print(f"\nparity: {len(rows)} tables, {sum(rows.values())} rows compared ({rows}); "
          f"DuckDB build {timings['duckdb_build_seconds']:.0f} s, Spark build {timings['spark_build_seconds']:.0f} s")
    assert not problems, "\n".join(problems[:40])
    # the national marts hold data (the local ones are empty: the real data has no local extracts)
    assert rows["marts.fct_scorecard"] > 1000 and rows["marts.fct_kpi_values"] > 10000


def test_the_comparison_sees_a_changed_number_and_a_changed_word(duckdb_marts):
    import polars as pl

    frame = duckdb_marts["marts.fct_scorecard"]
    assert table_differences("same", frame, frame.reverse()) == []
    # the tolerance is relative (1e-9 of the larger magnitude), so the nudge is relative too
    first_value = (frame["value"].abs() > 1).fill_null(False).arg_max()
    nudged = frame.with_columns(
        pl.col("value") * pl.when(pl.int_range(pl.len()) == first_value).then(1 + 1e-6).otherwise(1.0))
    assert any("value" in p for p in table_differences("nudged", frame, nudged))
    reworded = frame.with_columns(pl.col("rag_status").str.to_lowercase())
    assert any("rag_status" in p for p in table_differences("reworded", frame, reworded))
