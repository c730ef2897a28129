"""Loading into DuckDB: lineage, idempotence, replacement, and failed loads that change nothing."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest.loader import add_release_columns, connect_warehouse, ingest_paths
from tests.test_readers import HEADER, timeliness_csv


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


def current(con: duckdb.DuckDBPyConnection, measure: str = "pc_plans_issued_20_weeks_ex") -> list[tuple]:
    return con.execute(
        """select time_period, new_la_code, value from raw.ehcp_timeliness
        where measure = ? and breakdown_topic = 'All EHC plans issued' and not is_superseded order by 1, 2""",
        [measure]).fetchall()


def test_corrected_copy_of_the_same_release_supersedes_and_keeps_the_old_rows(warehouse, tmp_path):
    first = tmp_path / "v1" / "timeliness_20_week.csv"
    first.parent.mkdir()
    first.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    ingest_paths(warehouse, [first])
    second = tmp_path / "v2" / "timeliness_20_week.csv"
    second.parent.mkdir()
    second.write_bytes(timeliness_csv(["10,9,6,6,60,66.7"]))
    [result] = ingest_paths(warehouse, [second])
    assert result.status == "loaded"
    assert current(warehouse) == [("2024", "E08000007", 66.7)]
    both = warehouse.execute(
        """select value, is_superseded from raw.ehcp_timeliness where measure = 'pc_plans_issued_20_weeks_ex'
        order by value""").fetchall()
    assert both == [(55.6, True), (66.7, False)]  # nothing deleted


def release_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A timeliness file: (year, LA code, LA number, 20-week % excluding exceptions) per row."""
    lines = [HEADER] + [
        f"{year},Calendar year,Local authority,E92000001,England,E12000002,North West,{code},{number},LA {number},"
        f"All EHC plans issued,All EHC plans issued,10,10,5,5,50,{pct}" for year, code, number, pct in rows]
    return ("\n".join(lines) + "\n").encode()


OLD = [("2022", "E08000007", "356", "40"), ("2023", "E08000007", "356", "41"),
       ("2022", "E08000003", "352", "30"), ("2023", "E08000003", "352", "31")]
NEW = [("2023", "E08000007", "356", "44"), ("2024", "E08000007", "356", "45"),
       ("2023", "E08000003", "352", "33"), ("2024", "E08000003", "352", "34")]
NEWEST_VALUES = [("2022", "E08000003", 30.0), ("2022", "E08000007", 40.0), ("2023", "E08000003", 33.0),
                 ("2023", "E08000007", 44.0), ("2024", "E08000003", 34.0), ("2024", "E08000007", 45.0)]


def test_v1_v2_v1_ends_on_the_newest_release(warehouse, tmp_path):
    v1, v2 = tmp_path / "2023_release", tmp_path / "2024_release"
    for folder, rows in ((v1, OLD), (v2, NEW)):
        folder.mkdir()
        (folder / "timeliness_20_week.csv").write_bytes(release_csv(rows))
    ingest_paths(warehouse, [v1])
    ingest_paths(warehouse, [v2])
    assert current(warehouse) == NEWEST_VALUES
    # the older release again, also as a byte-different copy (CRLF line ends): nothing the marts use changes
    [again] = ingest_paths(warehouse, [v1])
    assert again.status == "skipped"
    copy = tmp_path / "copy_2023" / "timeliness_20_week.csv"
    copy.parent.mkdir()
    copy.write_bytes(release_csv(OLD).replace(b"\n", b"\r\n"))
    [older] = ingest_paths(warehouse, [copy])
    assert older.status == "loaded"
    assert "a newer release already loaded covers 2023" in older.message
    assert current(warehouse) == NEWEST_VALUES
    assert warehouse.execute("select count(*) from raw.ehcp_timeliness").fetchall()[0][0] == 3 * 4 * 6


@pytest.mark.parametrize("order", ["archive_first", "release_first", "one_scan"])
def test_archive_and_release_folders_end_on_the_newest_whatever_the_order(warehouse, tmp_path, order):
    archive, release = tmp_path / "archive", tmp_path / "2025_release"
    for folder, rows in ((archive, OLD), (release, NEW)):
        folder.mkdir()
        (folder / "timeliness_20_week.csv").write_bytes(release_csv(rows))
    scans = {"archive_first": [[archive], [release]], "release_first": [[release], [archive]],
             "one_scan": [[tmp_path], [tmp_path]]}[order]
    for paths in scans:
        ingest_paths(warehouse, paths)
    assert current(warehouse) == NEWEST_VALUES
    if order == "one_scan":  # files in sub-folders of the scanned folder carry the sub-folder in their release
        releases = {r[0] for r in warehouse.execute("select distinct release from raw.ehcp_timeliness").fetchall()}
        assert releases == {"archive/timeliness_20_week", "2025_release/timeliness_20_week"}


def test_newer_release_without_an_la_keeps_it_and_warns(warehouse, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "timeliness_20_week.csv").write_bytes(release_csv(OLD))
    (tmp_path / "b" / "timeliness_20_week.csv").write_bytes(release_csv([r for r in NEW if r[:3] != ("2023", "E08000003", "352")]))
    ingest_paths(warehouse, [tmp_path / "a"])
    [result] = ingest_paths(warehouse, [tmp_path / "b"])
    assert result.status == "loaded"
    assert "does not carry 1 geography an older release had (E08000003 LA 352)" in result.message
    assert "2022" in result.message  # the period only the older release has
    assert ("2023", "E08000003", 31.0) in current(warehouse)  # Manchester's 2023 stays from the older release
    logged = warehouse.execute("select message from meta.file_loads where status = 'loaded' order by loaded_at").fetchall()
    assert "E08000003" in logged[-1][0]


LOOKUP = ("new_la_code,la_name,date_of_operation,date_of_termination,parent_geography_code,entity_code,"
          "entity_description,status,old_la_code\n")
STOCKPORT = "E08000007,Stockport,01/01/2009,,E12000002,E08,Metropolitan Districts,live,356\n"
MANCHESTER = "E08000003,Manchester,01/01/2009,,E12000002,E08,Metropolitan Districts,live,352\n"
OTHERS = "".join(f"E0900000{i},London {i},01/01/2009,,E12000007,E09,London Boroughs,live,30{i}\n" for i in range(1, 6))


def test_la_lookup_without_an_la_never_drops_it(warehouse, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "la_lookup.csv").write_text(LOOKUP + STOCKPORT + MANCHESTER + OTHERS)
    (tmp_path / "new" / "la_lookup.csv").write_text(LOOKUP + STOCKPORT.replace("Stockport", "Stockport MBC") + OTHERS)
    ingest_paths(warehouse, [tmp_path / "old"])
    [result] = ingest_paths(warehouse, [tmp_path / "new"])
    assert result.status == "loaded"
    assert "E08000003 Manchester" in result.message
    names = warehouse.execute(
        "select new_la_code, la_name from raw.la_reference where not is_superseded and new_la_code like 'E08%' "
        "order by 1").fetchall()
    assert names == [("E08000003", "Manchester"), ("E08000007", "Stockport MBC")]


def test_bad_file_among_good_ones_does_not_stop_the_rest(warehouse, tmp_path):
    (tmp_path / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    (tmp_path / "requests.csv").write_text("time_period,geographic_level\n2024,National\n")
    results = {r.file: r for r in ingest_paths(warehouse, [tmp_path])}
    assert results["timeliness_20_week.csv"].status == "loaded"
    assert results["requests.csv"].status == "failed"
    assert "requests_received_in_year" in results["requests.csv"].message


def test_a_column_no_earlier_file_had_is_a_warning(warehouse, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    [first] = ingest_paths(warehouse, [tmp_path / "a"])
    newer = timeliness_csv(["12,11,6,6,50,54.5"]).decode("utf-8-sig").replace("2024,", "2025,")
    lines = newer.splitlines()
    lines[0] += ",plans_issued_by_tribunal_order"
    lines[1] += ",3"
    (tmp_path / "b" / "timeliness_20_week.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    [second] = ingest_paths(warehouse, [tmp_path / "b"])
    assert first.status == "loaded" and "no earlier file" not in first.message  # a source's first file: nothing to compare
    assert second.status == "loaded" and second.message.startswith("warning:")
    assert ("1 column(s) that no earlier file of the EHC plans release: new plans issued within 20 weeks had: "
            "'plans_issued_by_tribunal_order'") in second.message
    logged = warehouse.execute("select message from meta.file_loads where status = 'loaded' order by loaded_at").fetchall()
    assert "'plans_issued_by_tribunal_order'" in logged[-1][0]


def test_release_columns_go_to_the_sources_tables_written_before_releases_were_kept_only(warehouse):
    """An older warehouse's source table gets the release columns (every row current); a raw table that is no
    source's (the SEN2 returns' own) keeps its columns, so an incremental ingest leaves it as a cold one does."""
    warehouse.execute("create schema if not exists raw")
    warehouse.execute("create table raw.neet_send (time_period varchar, value double)")
    warehouse.execute("insert into raw.neet_send values ('2024', 1.5)")
    warehouse.execute("create table raw.sen2_persons (person_key varchar)")
    add_release_columns(warehouse)
    columns = {table: [c for (c,) in warehouse.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
        "order by ordinal_position", [table]).fetchall()] for table in ("neet_send", "sen2_persons")}
    assert columns == {"neet_send": ["time_period", "value", "release_order", "is_superseded"],
                       "sen2_persons": ["person_key"]}
    assert warehouse.execute("select is_superseded, release_order from raw.neet_send").fetchall() == [(False, None)]
    add_release_columns(warehouse)  # a second run changes nothing
    assert len(warehouse.execute("select * from raw.neet_send").description) == 4
