"""What the loaders record about each file: the LoadResult, meta.file_loads, and table checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb


@dataclass
class LoadResult:
    """What happened to one file: loaded, skipped (already loaded) or failed (with the reason)."""

    file: str
    source: str | None
    status: str
    rows: int = 0
    message: str = ""
    sha256: str = ""
    seconds: float = 0.0


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists meta")
    con.execute(
        """create table if not exists meta.file_loads (
            source varchar, source_file varchar, file_sha256 varchar, release varchar, rows bigint,
            status varchar, message varchar, loaded_at timestamp)"""
    )


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """A table or a view (a split long raw table is a view, see pipelines/ingest/long_tables.py)."""
    # duckdb_tables() answers in about half the time of information_schema.tables (asked several times a file)
    return bool(con.execute(
        "select (select count(*) from duckdb_tables() where schema_name = $1 and table_name = $2)"
        " + (select count(*) from duckdb_views() where schema_name = $1 and view_name = $2)", [schema, table]
    ).fetchall()[0][0])


def _record(con: duckdb.DuckDBPyConnection, result: LoadResult, release: str | None, at: dt.datetime) -> None:
    con.execute(
        "insert into meta.file_loads values (?, ?, ?, ?, ?, ?, ?, ?)",
        [result.source, result.file, result.sha256, release, result.rows, result.status, result.message, at],
    )
