"""Loading into DuckDB: lineage, idempotence, replacement, and failed loads that change nothing."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest.loader import connect_warehouse, ingest_paths
from tests.test_readers import timeliness_csv


@pytest.fixture
def warehouse(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    yield con
    con.close()


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]


def test_lineage_columns(warehouse, tmp_path):
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    [result] = ingest_paths(warehouse, [path])
    assert result.status == "loaded" and result.rows == 6
    rows = warehouse.execute(
        "select distinct source_file, file_sha256, source_row, release, loaded_at is not null from raw.ehcp_timeliness"
    ).fetchall()
    assert rows == [("timeliness_20_week.csv", result.sha256, 2, "timeliness_20_week", True)]


def test_same_file_twice_changes_nothing(warehouse, tmp_path):
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(["10,9,5,5,50,55.6", "20,19,5,5,25,26.3"]))
    ingest_paths(warehouse, [path])
    before = count(warehouse, "ehcp_timeliness")
    [again] = ingest_paths(warehouse, [path])
    assert again.status == "skipped"
    assert count(warehouse, "ehcp_timeliness") == before == 12


def test_truncated_copy_fails_and_table_keeps_its_rows(warehouse, tmp_path):
    good = tmp_path / "timeliness_20_week.csv"
    data = timeliness_csv(["10,9,5,5,50,55.6", "20,19,5,5,25,26.3"])
    good.write_bytes(data)
    ingest_paths(warehouse, [good])
    snapshot = warehouse.execute("select * from raw.ehcp_timeliness order by all").fetchall()
    truncated = tmp_path / "copy" / "timeliness_20_week.csv"
    truncated.parent.mkdir()
    truncated.write_bytes(data[: len(data) - 9])
    [result] = ingest_paths(warehouse, [truncated])
    assert result.status == "failed"
    assert "row 3" in result.message and "truncated" in result.message
    assert warehouse.execute("select * from raw.ehcp_timeliness order by all").fetchall() == snapshot
    logged = warehouse.execute("select status, message from meta.file_loads where status = 'failed'").fetchall()
    assert logged and "truncated" in logged[0][1]


def test_new_version_replaces_the_periods_it_covers(warehouse, tmp_path):
    first = tmp_path / "v1" / "timeliness_20_week.csv"
    first.parent.mkdir()
    first.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    ingest_paths(warehouse, [first])
    second = tmp_path / "v2" / "timeliness_20_week.csv"
    second.parent.mkdir()
    second.write_bytes(timeliness_csv(["10,9,6,6,60,66.7"]))
    [result] = ingest_paths(warehouse, [second])
    assert result.status == "loaded"
    values = warehouse.execute(
        "select value, file_sha256 from raw.ehcp_timeliness where measure = 'pc_plans_issued_20_weeks_ex'"
    ).fetchall()
    assert values == [(66.7, result.sha256)]


def test_bad_file_among_good_ones_does_not_stop_the_rest(warehouse, tmp_path):
    (tmp_path / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    (tmp_path / "requests.csv").write_text("time_period,geographic_level\n2024,National\n")
    results = {r.file: r for r in ingest_paths(warehouse, [tmp_path])}
    assert results["timeliness_20_week.csv"].status == "loaded"
    assert results["requests.csv"].status == "failed"
    assert "requests_received_in_year" in results["requests.csv"].message
