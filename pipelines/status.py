"""What the warehouse holds per source: rows, periods, last load and file hashes."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.loader import connect_warehouse, table_exists
from pipelines.ingest.sources import SOURCES

# The column that says which period a row covers, per source family.
PERIOD_COLUMN = {"lait": "years", "statistical_neighbours": "vintage", "ees_csv": "time_period",
                 "ees_xlsx": "time_period"}


def source_status(warehouse: Path) -> list[dict]:
    """One dict per registered source: source, rows, periods, last_load, files, sha256 (short)."""
    con = connect_warehouse(warehouse, read_only=True)
    rows = []
    try:
        for spec in SOURCES:
            if not table_exists(con, "raw", spec.table):
                rows.append({"source": spec.table, "rows": 0, "periods": "not loaded", "last_load": "-",
                             "files": 0, "sha256": "-"})
                continue
            period = PERIOD_COLUMN.get(spec.family)
            period_sql = (f"min({period}) || ' to ' || max({period}) || ' (' || count(distinct {period}) || ')'"
                          if period else "'-'")
            (count, periods, last, files, hashes), = con.execute(
                f"select count(*), {period_sql}, strftime(max(loaded_at), '%Y-%m-%d %H:%M'),"
                f" count(distinct file_sha256), string_agg(distinct left(file_sha256, 12), ' ')"
                f" from raw.{spec.table}"
            ).fetchall()
            rows.append({"source": spec.table, "rows": count, "periods": periods or "-", "last_load": last or "-",
                         "files": files, "sha256": hashes or "-"})
    finally:
        con.close()
    return rows
