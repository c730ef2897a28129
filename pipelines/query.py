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
        raise SendScorecardError(f"The query failed: {first_line}") from exc
    finally:
        con.close()
