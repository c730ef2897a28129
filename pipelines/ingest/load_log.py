"""What the loaders record about each file: the LoadResult, meta.file_loads, and table checks."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
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
    tables_changed(con)


# While tables_remembered(con) runs in this thread: [con, {(schema, name) of every table and view} or None]
_REMEMBERED = threading.local()


@contextlib.contextmanager
def tables_remembered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While the block runs, table_exists answers for `con` (in this thread) from one listing of the warehouse's
    tables and views, listed again after each change of them (tables_changed): a load asks it about ten times a
    file, at about 2 ms a query. Whatever creates or drops a table or view of `con` in the block calls
    tables_changed (the loader also does before each file)."""
    outer = getattr(_REMEMBERED, "state", None)
    _REMEMBERED.state = [con, None]
    try:
        yield
    finally:
        _REMEMBERED.state = outer


def tables_changed(con: duckdb.DuckDBPyConnection) -> None:
    """`con`'s tables or views may have changed: table_exists lists them again (inside tables_remembered)."""
    state = getattr(_REMEMBERED, "state", None)
    if state is not None and state[0] is con:
        state[1] = None


def _listing(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]] | None:
    """The remembered (schema, name) of `con`'s tables and views, listed now if need be; None outside
    tables_remembered."""
    state = getattr(_REMEMBERED, "state", None)
    if state is None or state[0] is not con:
        return None
    if state[1] is None:
        state[1] = set(con.execute("select schema_name, table_name from duckdb_tables() union all "
                                   "select schema_name, view_name from duckdb_views()").fetchall())
    return state[1]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """A table or a view (a split long raw table is a view, see pipelines/ingest/long_tables.py)."""
    listing = _listing(con)
    if listing is not None:
        return (schema, table) in listing
    # duckdb_tables() answers in about half the time of information_schema.tables (asked several times a file)
    return bool(con.execute(
        "select (select count(*) from duckdb_tables() where schema_name = $1 and table_name = $2)"
        " + (select count(*) from duckdb_views() where schema_name = $1 and view_name = $2)", [schema, table]
    ).fetchall()[0][0])


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The names of the tables and views of `schema`."""
    listing = _listing(con)
    if listing is not None:
        return {name for (where, name) in listing if where == schema}
    return {name for (name,) in con.execute(
        "select table_name from duckdb_tables() where schema_name = $1 union all "
        "select view_name from duckdb_views() where schema_name = $1", [schema]).fetchall()}


def _record(con: duckdb.DuckDBPyConnection, result: LoadResult, release: str | None, at: dt.datetime) -> None:
    con.execute(
        "insert into meta.file_loads values (?, ?, ?, ?, ?, ?, ?, ?)",
        [result.source, result.file, result.sha256, release, result.rows, result.status, result.message, at],
    )
