"""The monthly archive of the board reports, and "what changed since last month".

Every published refresh keeps its reports under `<warehouse dir>/reports/archive/<date>/` (the
date the data was loaded; a second refresh on the same day replaces that day's folder). Beside the
files, `data/` holds the marts rows the scorecard of the configured LA was drawn from, as Parquet:
the LA's rows of fct_scorecard, fct_scorecard_summary, fct_kpi_benchmarks and fct_kpi_values, the
dimensions, and the file loads (source, file, release, when; never a message). That is enough to
regenerate the report exactly (`send-scorecard report --period 2026-11-30`, or `--period 2026-11`)
after the warehouse has moved on, and to say what changed between two months: RAG moves, new
figures and releases, revised figures and changed targets.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb

# (schema, table, filter on the LA): what the archive keeps of the warehouse, per LA
ARCHIVED = (
    ("marts", "dim_la", None),
    ("marts", "dim_kpi", None),
    ("marts", "dim_period", None),
    ("marts", "fct_scorecard", "la_code"),
    ("marts", "fct_scorecard_summary", "la_code"),
    ("marts", "fct_kpi_benchmarks", "la_code"),
    ("marts", "fct_kpi_values", "geo_code"),
)
META_COLUMNS = {
    "file_loads": "source, source_file, release, status, loaded_at",
    "refresh_runs": "*",
}
DATE_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")


def reports_dir(warehouse: Path) -> Path:
    """Where reports go: `<warehouse dir>/reports/`."""
    return Path(warehouse).expanduser().resolve().parent / "reports"


def archive_root(warehouse: Path) -> Path:
    return reports_dir(warehouse) / "archive"


def archived(warehouse: Path) -> list[tuple[dt.date, Path]]:
    """The archive folders with their dates, oldest first (only complete ones: with data/)."""
    root = archive_root(warehouse)
    if not root.is_dir():
        return []
    return sorted((dt.date.fromisoformat(p.name), p) for p in root.iterdir()
                  if p.is_dir() and DATE_FOLDER.fullmatch(p.name) and (p / "data" / "fct_scorecard.parquet").exists())


def find_archive(warehouse: Path, period: str) -> Path | None:
    """The archive folder named by `period`: a date (2026-11-30) or a month (2026-11, its last
    archive); None when `period` is neither or nothing is archived for it."""
    text = period.strip()
    folders = archived(warehouse)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return next((p for d, p in folders if d.isoformat() == text), None)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        in_month = [p for d, p in folders if d.isoformat().startswith(text)]
        return in_month[-1] if in_month else None
    return None


def previous_archive(warehouse: Path, before: dt.date) -> Path | None:
    """The latest archive made before `before` (last month's board report, normally)."""
    earlier = [p for d, p in archived(warehouse) if d < before]
    return earlier[-1] if earlier else None


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchall()[0][0])


def write_archive_data(con: duckdb.DuckDBPyConnection, la_code: str, folder: Path) -> None:
    """The LA's scorecard rows, as Parquet under `folder/data/`, from an open warehouse."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for schema, table, la_column in ARCHIVED:
        where = f" where {la_column} = ?" if la_column else ""
        _write_parquet(con.sql(f"select * from {schema}.{table}{where}", params=[la_code] if la_column else []),
                       data / f"{table}.parquet")
    for table, columns in META_COLUMNS.items():
        if _table_exists(con, "meta", table):
            _write_parquet(con.sql(f"select {columns} from meta.{table}"), data / f"meta__{table}.parquet")


def _write_parquet(relation: duckdb.DuckDBPyRelation, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(relation.to_arrow_table(), path)


def open_archive(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory database whose marts and meta schemas are the archived tables."""
    con = duckdb.connect(":memory:")
    con.execute("create schema marts")
    con.execute("create schema meta")
    for path in sorted((folder / "data").glob("*.parquet")):
        schema, table = ("meta", path.stem.split("__", 1)[1]) if path.stem.startswith("meta__") else ("marts", path.stem)
        con.execute(f"create table {schema}.{table} as select * from read_parquet(?)", [str(path)])
    return con


def _rows(con, query: str, params: list) -> dict[str, dict]:
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def changes_since(con: duckdb.DuckDBPyConnection, la_code: str, reporting_period: str, previous: Path) -> dict:
    """What changed between the scorecard in `con` and the archived one in `previous`: RAG moves,
    new figures, revised figures, changed targets and new releases, each a list of sentences."""
    from pipelines.reports.formatting import format_value

    old_con = open_archive(previous)
    try:
        scorecard = """select kpi_id, title, unit, decimal_places, rag_status, period_key, period_label, value,
            target, source, release from marts.fct_scorecard where la_code = ? {and_period}"""
        now = _rows(con, scorecard.format(and_period="and reporting_period = ?"), [la_code, reporting_period])
        before = _rows(old_con, scorecard.format(and_period=""), [la_code])
        values = """select kpi_id || '|' || period_key as key, kpi_id, period_key, value
            from marts.fct_kpi_benchmarks where la_code = ? and value is not null"""
        values_now = _rows(con, values, [la_code])
        values_before = _rows(old_con, values, [la_code])
        releases_before = {(s, r) for s, r in old_con.execute(
            "select distinct source, release from marts.fct_scorecard where la_code = ?", [la_code]).fetchall()}
    finally:
        old_con.close()

    def fmt(row: dict, value) -> str:
        return format_value(value, row["unit"], row["decimal_places"]) or "none"

    rag, new_figures, revised, targets = [], [], [], []
    for kpi, row in now.items():
        old = before.get(kpi)
        if old is None:
            continue
        if old["rag_status"] != row["rag_status"]:
            rag.append(f"{kpi} {row['title']}: {old['rag_status']} to {row['rag_status']}")
        if row["period_key"] and row["period_key"] != old["period_key"]:
            new_figures.append(f"{kpi}: {row['period_label']} figure {fmt(row, row['value'])}"
                               + (f" (was {old['period_label']}: {fmt(row, old['value'])})" if old["period_key"] else ""))
        if (old["target"] is None) != (row["target"] is None) or (
                row["target"] is not None and abs(row["target"] - old["target"]) > 1e-9):
            targets.append(f"{kpi}: target {fmt(row, old['target'])} to {fmt(row, row['target'])}")
    labels = dict(con.execute("select period_key, period_label from marts.dim_period").fetchall())
    for key, row in values_now.items():
        old = values_before.get(key)
        if old is not None and abs(row["value"] - old["value"]) > 1e-9 and row["kpi_id"] in now:
            meta = now[row["kpi_id"]]
            revised.append(f"{row['kpi_id']} {labels.get(row['period_key'], row['period_key'])}: "
                           f"{fmt(meta, old['value'])} revised to {fmt(meta, row['value'])}")
    from pipelines.reports.formatting import source_title

    releases = sorted({f"{source_title(r['source'])}: {r['release']}" for r in now.values()
                       if r["source"] and r["release"] and (r["source"], r["release"]) not in releases_before})
    return {"since": previous.name, "rag": rag, "new_figures": new_figures, "revised": revised,
            "targets": targets, "releases": releases}
