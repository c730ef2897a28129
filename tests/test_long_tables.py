"""The long EES raw tables stored in two parts (pipelines/ingest/long_tables.py): raw.<table> reads exactly as
the single long table an earlier version wrote (columns, types, order, rows, release marks) through every write
path; a warehouse written by that version is split on its next write; a refused or failed file leaves both
parts as they were; the Spark export sees the view and not the parts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.ingest import loader
from pipelines.ingest.loader import connect_warehouse, ensure_meta, load_raw_file
from pipelines.ingest.long_tables import PARTS_SCHEMA, is_split, split_existing, split_frame
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.spark import export_raw_parquet
from tests.test_loader import NEW, OLD, release_csv

SPEC = SOURCES_BY_TABLE["ehcp_timeliness"]
TABLE = "raw.ehcp_timeliness"


def _raw(rows, name: str = "timeliness_20_week.csv", release: str | None = None, crlf: bool = False) -> RawFile:
    data = release_csv(rows)
    raw = RawFile(name=name, data=data.replace(b"\n", b"\r\n") if crlf else data)
    return dataclasses.replace(raw, release=release) if release else raw


# three releases: an older one, a newer one, and a byte-different copy of the older one loaded last
FILES = [(_raw(OLD, release="2023_release/timeliness_20_week"), 1),
         (_raw(NEW, release="2024_release/timeliness_20_week"), 2),
         (_raw(OLD, release="copy/timeliness_20_week", crlf=True), 3)]


def write(con: duckdb.DuckDBPyConnection, spec, raw: RawFile, minute: int, plain: bool = False) -> None:
    """One file through create_table and write_table (in a transaction, as load_raw_file does), at a fixed
    load time; `plain`: as the earlier version wrote it (one long table)."""
    frame = loader.with_lineage(loader.read_source(raw, spec, con), raw, dt.datetime(2026, 1, 1, 9, minute), spec)
    with pytest.MonkeyPatch.context() as patch:
        if plain:
            patch.setattr(loader, "SPLIT_FAMILIES", ())
        loader.create_table(con, spec, frame)
        con.execute("begin transaction")
        loader.write_table(con, spec, frame)
        con.execute("commit")


def state(con: duckdb.DuckDBPyConnection, table: str = TABLE) -> tuple[list, list]:
    """The table as its readers see it: its columns with their types in order, and every row."""
    return (con.execute(f"describe {table}").fetchall(),
            con.execute(f"select * from {table} order by all").fetchall())


def parts(con: duckdb.DuckDBPyConnection, table: str = "ehcp_timeliness") -> tuple[list, list]:
    return tuple(con.execute(f'select * from {PARTS_SCHEMA}."{table}_{part}" order by all').fetchall()
                 for part in ("rows", "values"))


@pytest.fixture
def two(tmp_path):
    """Two warehouses: one written as the earlier version did, one with the split layout."""
    plain, split = connect_warehouse(tmp_path / "plain.duckdb"), connect_warehouse(tmp_path / "split.duckdb")
    for con in (plain, split):
        ensure_meta(con)
    yield plain, split
    plain.close()
    split.close()


@pytest.mark.parametrize("variant", ["releases", "replace_by_period", "replace_all", "new_column"])
def test_the_view_reads_exactly_as_the_long_table(two, variant):
    plain, split = two
    spec = {"releases": SPEC, "new_column": SPEC,
            "replace_by_period": dataclasses.replace(SPEC, grain=(), replace_by=("time_period",)),
            "replace_all": dataclasses.replace(SPEC, grain=(), replace_by=())}[variant]
    for i, (raw, minute) in enumerate(FILES):
        if variant == "new_column" and i == 2:  # a newer version reads a filter the table lacks: a column added
            spec = dataclasses.replace(SPEC, filters=(*SPEC.filters, "tribunal_route"))
        write(plain, spec, raw, minute, plain=True)
        write(split, spec, raw, minute)
        assert state(split) == state(plain), f"after file {i + 1}"
    assert is_split(split, "ehcp_timeliness") and not is_split(plain, "ehcp_timeliness")
    assert split.execute("select table_type from information_schema.tables where table_schema = 'raw' "
                         "and table_name = 'ehcp_timeliness'").fetchall() == [("VIEW",)]
    rows, values = parts(split)
    assert len(values) == len(state(split)[1]) and len(rows) * 6 == len(values)  # 6 indicators a source row
    if variant == "releases":  # the marks were made in the rows part: older figures kept, superseded
        assert split.execute(f"select count(*) from {TABLE} where is_superseded").fetchall()[0][0] > 0
    if variant == "new_column":
        assert state(split)[0][-1][0] == "tribunal_route"  # at the end, as `alter table add column` puts it


def test_a_warehouse_of_the_earlier_layout_is_split_on_its_next_write(two):
    plain, split = two
    for raw, minute in FILES[:2]:
        write(plain, SPEC, raw, minute, plain=True)
    before = state(plain)
    raw, minute = FILES[2]
    write(plain, SPEC, raw, minute)  # the upgraded version writes to the old warehouse
    for raw, minute in FILES:
        write(split, SPEC, raw, minute)
    assert is_split(plain, "ehcp_timeliness")
    assert state(plain) == state(split)
    assert plain.execute(f"select count(*) from {TABLE} where file_sha256 <> ?", [raw.sha256]).fetchall()[0][0] \
        == len(before[1])
    # a table that does not have the long layout stays a table
    plain.execute("create table raw.not_long as select 1 as source_row, 'x' as measure")
    assert not split_existing(plain, "not_long")
    assert plain.execute("select count(*) from raw.not_long").fetchall() == [(1,)]


def test_a_refused_or_failed_file_leaves_both_parts_as_they_were(two, monkeypatch):
    con = two[1]
    assert load_raw_file(con, _raw(OLD), SPEC).status == "loaded"
    before = parts(con), state(con)
    broken = _raw([*NEW[:3], (NEW[3][0], NEW[3][1], NEW[3][2], "150")])  # a percentage above 100
    result = load_raw_file(con, broken, SPEC)
    assert result.status == "quarantined", result.message
    assert (parts(con), state(con)) == before

    written = loader.write_table

    def write_then_fail(con, spec, frame):
        written(con, spec, frame)
        raise duckdb.ConversionException("simulated failure after the insert")

    monkeypatch.setattr(loader, "write_table", write_then_fail)
    assert load_raw_file(con, _raw(NEW), SPEC).status == "failed"
    assert (parts(con), state(con)) == before
    # a source's first file that fails after its parts were made leaves no parts and no view
    empty = two[0]
    assert load_raw_file(empty, _raw(OLD), SPEC).status == "failed"
    assert empty.execute("select count(*) from information_schema.tables where table_name like 'ehcp_timeliness%'"
                         ).fetchall() == [(0,)]


def test_split_frame_checks_that_a_source_row_has_one_set_of_row_columns():
    long = pl.DataFrame({"source_row": [2, 3, 2, 3], "la": ["a", "b", "a", "b"], "measure": ["m", "m", "n", "n"]})
    assert split_frame(long, ["la", "source_row"]).to_dicts() == [{"la": "a", "source_row": 2},
                                                                  {"la": "b", "source_row": 3}]
    shuffled = long[[3, 0, 2, 1]]
    assert split_frame(shuffled, ["la", "source_row"]).sort("source_row").to_dicts() == [
        {"la": "a", "source_row": 2}, {"la": "b", "source_row": 3}]
    differing = long.with_columns(pl.Series("la", ["a", "b", "a", "c"]))
    assert split_frame(differing, ["la", "source_row"]) is None


def test_the_spark_export_has_the_view_and_not_the_parts(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    ensure_meta(con)
    for raw, minute in FILES:
        write(con, SPEC, raw, minute)
    expected = state(con)[1]
    con.close()
    written = export_raw_parquet(tmp_path / "send.duckdb", tmp_path / "parquet")
    assert "raw.ehcp_timeliness" in written and not any(PARTS_SCHEMA in t for t in written)
    assert not (tmp_path / "parquet" / PARTS_SCHEMA).exists()
    exported = duckdb.sql(f"select * from read_parquet('{tmp_path}/parquet/raw/ehcp_timeliness/*.parquet') "
                          "order by all").fetchall()
    assert exported == expected


def test_remembered_tables_follow_every_create_and_drop(two):
    """Inside load_log.tables_remembered (as ingest_paths runs) table_exists answers from one listing: after each
    way a table or view is created, split, dropped or rolled back it answers as the catalog does."""
    from pipelines.ingest.load_log import table_exists, tables_remembered
    from pipelines.ingest.long_tables import drop_split
    from pipelines.quality.gates import ensure_dq_tables

    names = [("raw", "ehcp_timeliness"), (PARTS_SCHEMA, "ehcp_timeliness_rows"),
             (PARTS_SCHEMA, "ehcp_timeliness_values"), ("dq", "validation_runs"), ("quarantine", "rows")]

    def agree(con) -> set:
        listed = set(con.execute("select schema_name, table_name from duckdb_tables() union all "
                                 "select schema_name, view_name from duckdb_views()").fetchall())
        answers = {n for n in names if table_exists(con, *n)}
        assert answers == {n for n in names if n in listed}
        return answers

    plain, split = two
    with tables_remembered(plain):
        assert agree(plain) == set()
        write(plain, SPEC, FILES[0][0], 1, plain=True)  # a plain table
        assert agree(plain) == {names[0]}
        write(plain, SPEC, FILES[1][0], 2)  # split on this write
        assert agree(plain) == set(names[:3])
        drop_split(plain, "ehcp_timeliness")
        assert agree(plain) == set()
        ensure_dq_tables(plain)
        assert agree(plain) == set(names[3:])
    with tables_remembered(split):
        frame = loader.with_lineage(loader.read_source(FILES[0][0], SPEC, split), FILES[0][0],
                                    dt.datetime(2026, 1, 1, 9), SPEC)
        assert loader.create_table(split, SPEC, frame)
        assert agree(split) == set(names[:3])
        loader.drop_if_empty(split, SPEC)  # what a file that failed after create_table leaves
        assert agree(split) == set()
        write(split, SPEC, FILES[0][0], 1, plain=True)
        split.execute("update raw.ehcp_timeliness set time_period = '1999' "  # two sets of row columns a source row
                      "where measure = (select min(measure) from raw.ehcp_timeliness)")
        assert not split_existing(split, "ehcp_timeliness")  # rolled back
        assert agree(split) == {names[0]}
