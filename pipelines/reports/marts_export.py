"""The marts as files for Power BI and Excel (Power Query): `<warehouse dir>/exports/`.

Every refresh writes, from the published warehouse (read-only):
- `<mart>.parquet` for each mart below: point Power BI's "Parquet" or "Folder" source, or Excel's
  Get Data > From File > From Folder, at the folder;
- `send-scorecard-marts.xlsx`: the smaller marts, each on its own sheet as a real Excel Table
  (Insert > Table), which Power Query and PivotTables pick up by name.

The files are written under a temporary name and renamed, so a report refreshing at the same time
reads either last month's file or this month's, never half of one. They hold the warehouse's own
figures - the same as `send-scorecard sql` shows, for analysts inside the LA; a published table
goes through `send-scorecard export` or `report --publication`, which suppress small numbers. The
person-level (restricted) models are never exported. No cell of the workbook is a live formula.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import polars as pl

from pipelines.ingest.loader import connect_warehouse

# The marts exported as Parquet, and (True) also as a table of the workbook. fct_kpi_values holds
# every source and geography (too long for a workbook sheet): Parquet only.
EXPORTED_MARTS = {
    "dim_la": True,
    "dim_kpi": True,
    "dim_period": True,
    "fct_scorecard_summary": True,
    "fct_scorecard": True,
    "fct_kpi_benchmarks": True,
    "fct_kpi_values": False,
}
WORKBOOK = "send-scorecard-marts.xlsx"
EXCEL_MAX_ROWS = 1_048_575


def exports_dir(warehouse: Path) -> Path:
    """`<warehouse dir>/exports/` (data/warehouse/exports/ by default)."""
    return Path(warehouse).expanduser().resolve().parent / "exports"


def table_name(mart: str) -> str:
    """The Excel Table's name for a mart: fct_scorecard -> Scorecard, dim_la -> LA."""
    words = re.sub(r"^(fct|dim)_", "", mart).split("_")
    return "".join(w.upper() if len(w) <= 3 and w in ("la", "kpi") else w.capitalize() for w in words)


def _replace(target: Path, write) -> Path:
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _excel_value(value):
    if isinstance(value, (list, dict)):
        return str(value)
    return value


def _write_workbook(frames: dict[str, pl.DataFrame], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    from pipelines.suppression import escape_workbook

    wb = Workbook()
    wb.remove(wb.active)
    for mart, frame in frames.items():
        ws = wb.create_sheet(mart[:31])
        ws.append(frame.columns)
        for row in frame.head(EXCEL_MAX_ROWS).iter_rows():
            ws.append([_excel_value(v) for v in row])
        last = f"{get_column_letter(len(frame.columns))}{max(frame.height, 1) + 1}"
        table = Table(displayName=table_name(mart), ref=f"A1:{last}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(table)
        ws.freeze_panes = "A2"
        for index, name in enumerate(frame.columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(name) + 2))
    escape_workbook(wb)
    wb.save(path)


def write_mart_exports(warehouse: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the marts as Parquet and the workbook of Excel Tables; returns the paths written."""
    target = Path(out_dir) if out_dir else exports_dir(warehouse)
    target.mkdir(parents=True, exist_ok=True)
    con = connect_warehouse(Path(warehouse), read_only=True)
    try:
        present = {name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        frames = {mart: con.sql(f"select * from marts.{mart}").pl() for mart in EXPORTED_MARTS if mart in present}
    finally:
        con.close()
    written = [_replace(target / f"{mart}.parquet", lambda p, f=frame: f.write_parquet(p))
               for mart, frame in frames.items()]
    in_workbook = {m: f for m, f in frames.items() if EXPORTED_MARTS[m]}
    if in_workbook:
        written.append(_replace(target / WORKBOOK, lambda p: _write_workbook(in_workbook, p)))
    return written
