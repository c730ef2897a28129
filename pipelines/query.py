"""Read-only queries for JSNA authors: the warehouse is never opened for writing here."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import connect_warehouse


def run_query(warehouse: Path, query: str) -> pl.DataFrame:
    """Run `query` on a read-only connection and return the result as a polars frame."""
    con = connect_warehouse(warehouse, read_only=True)
    try:
        return con.sql(query).pl()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        if isinstance(exc, duckdb.CatalogException) and not _has_marts(con):
            raise SendScorecardError(
                f"The warehouse {warehouse} has no marts yet (the files are loaded, but the models are not "
                "built): run 'send-scorecard refresh' to build them, then query marts.fct_scorecard and the "
                f"other marts. ({first_line})") from exc
        raise SendScorecardError(f"The query failed: {first_line}") from exc
    finally:
        con.close()


def _has_marts(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts'").fetchall()[0][0])
