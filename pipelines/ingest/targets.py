"""Targets belong to the scorecard owner: a targets file in the drop-zone, read and checked here.

The project ships no targets. The owner writes `targets.csv` (or `.xlsx`; any name starting with
`targets` or `kpi_targets`) from the template `send-scorecard targets-template` writes, one row per
LA, KPI and starting period: la_code, kpi_id, from_period, target, tolerance, set_by, agreed_on,
note. A new targets file replaces the previous one as a whole. Without a target, a KPI is rated
against the region and England (the scorecard says so).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.config import DBT_PROJECT_DIR, REFERENCE_DIR
from pipelines.errors import SourceFormatError
from pipelines.ingest.local import DATE, TEXT, Column, LocalLayout, parse_dates, read_extract
from pipelines.ingest.rawfile import RawFile

TARGET_COLUMNS = ("la_code", "kpi_id", "from_period", "target", "tolerance", "set_by", "agreed_on", "note")

TARGETS = LocalLayout(
    table="kpi_targets",
    title="scorecard targets file",
    columns=(
        Column("la_code", TEXT, ("la", "la code", "new la code", "local authority"), required=True),
        Column("kpi_id", TEXT, ("kpi", "kpi id", "measure", "measure id"), required=True),
        Column("from_period", TEXT, ("from", "from period", "applies from", "period"), required=True),
        Column("target", TEXT, ("target value",), required=True),
        Column("tolerance", TEXT, ("target tolerance",)),
        Column("set_by", TEXT, ("set by", "owner", "agreed by"), required=True),
        Column("agreed_on", DATE, ("agreed on", "agreed", "date agreed", "set on"), required=True),
        Column("note", TEXT, ("notes", "comment")),
    ),
)

# A period key as fct_kpi_values spells it: 2024, 202324 (academic year), FY202324, JAN2025, 2025-03.
PERIOD_KEY = re.compile(r"^(\d{4}|\d{6}|FY\d{6}|JAN\d{4}|\d{4}-\d{2})$")


@cache
def kpi_units() -> dict[str, str]:
    """kpi_id -> unit, from the catalogue seed (the one statement of the catalogue)."""
    with (DBT_PROJECT_DIR / "seeds" / "kpi_catalogue.csv").open(encoding="utf-8") as handle:
        return {row["kpi_id"]: row["unit"] for row in csv.DictReader(handle)}


@cache
def la_codes() -> dict[str, str]:
    """Every spelling of an English LA (new code, 3-digit number, name; lower case) -> its new code."""
    with (REFERENCE_DIR / "english_las.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    found: dict[str, str] = {}
    for row in rows:
        for spelling in (row["new_la_code"], row["old_la_code"], row["la_name"]):
            if spelling:
                found.setdefault(spelling.strip().lower(), row["new_la_code"])
    return found


def resolve_la_code(text: str | None) -> str | None:
    """The new LA code for a code, a 3-digit number or a name (None when it names no English LA)."""
    if not text or not text.strip():
        return None
    key = " ".join(text.strip().split()).lower()
    return la_codes().get(key) or la_codes().get(key.lstrip("0"))


def read_targets(source: RawFile | Path, key: str | bytes | None = None) -> pl.DataFrame:
    """The targets file -> raw.kpi_targets; a row breaking a rule stops the file with its row and column.

    Rules: a known LA and KPI; from_period a period key (2024, 202324, FY202324, JAN2025, 2025-03);
    a numeric target possible for the KPI's unit (a percentage from 0 to 100, a count a whole number
    of 0 or more); a tolerance of 0 or more; who set it and the date it was agreed (not in the future).
    Rows without a target are skipped (the template lists every KPI with the target blank).
    """
    raw = source if isinstance(source, RawFile) else RawFile.from_path(Path(source))
    extract, text = read_extract(raw, TARGETS)
    text = text.filter(pl.col("target").is_not_null())
    units = kpi_units()
    out: dict[str, list] = {c: [] for c in ("source_row", *TARGET_COLUMNS)}
    for row in text.iter_rows(named=True):
        number = row["source_row"]

        def fail(column: str, problem: str, row_number: int = number) -> SourceFormatError:
            return extract.error(problem, row=row_number, column=column)

        la = resolve_la_code(row["la_code"])
        if la is None:
            raise fail("la_code", "is not an English local authority (use a code such as E08000007, a 3-digit "
                                  "LA number such as 356, or the LA's name)")
        kpi = next((k for k in units if k.lower() == (row["kpi_id"] or "").strip().lower()), None)
        if kpi is None:
            raise fail("kpi_id", "is not a KPI of the catalogue (dbt_project/seeds/kpi_catalogue.csv lists "
                                 f"{', '.join(units)})")
        period = (row["from_period"] or "").strip().upper()
        if not PERIOD_KEY.match(period):
            raise fail("from_period", "is not a period key (2024 for a calendar year, 202324 for an academic "
                                      "year, FY202324 for a financial year, JAN2025 for a January census, "
                                      "2025-03 for a month)")
        target = _number(row["target"])
        if target is None:
            raise fail("target", "is not a number")
        unit = units[kpi]
        if unit == "percent" and not 0 <= target <= 100:
            raise fail("target", f"is impossible for {kpi}, a percentage: a target must be from 0 to 100")
        if unit == "count" and (target < 0 or target != int(target)):
            raise fail("target", f"is impossible for {kpi}, a count: a target must be a whole number of 0 or more")
        if unit == "rate" and target < 0:
            raise fail("target", f"is impossible for {kpi}, a rate: a target must be 0 or more")
        tolerance = _number(row["tolerance"]) if row["tolerance"] is not None else None
        if row["tolerance"] is not None and tolerance is None:
            raise fail("tolerance", "is not a number")
        if tolerance is not None and tolerance < 0:
            raise fail("tolerance", "is negative: a tolerance is how far from the target still counts as met")
        if not (row["set_by"] or "").strip():
            raise fail("set_by", "is blank: say who set the target (a name or a role)")
        for column, value in (("la_code", la), ("kpi_id", kpi), ("from_period", period), ("target", target),
                              ("tolerance", tolerance), ("set_by", row["set_by"].strip()), ("agreed_on", None),
                              ("note", row["note"])):
            out[column].append(value)
        out["source_row"].append(number)
    frame = pl.DataFrame(out, schema={"source_row": pl.Int64, "la_code": pl.String, "kpi_id": pl.String,
                                      "from_period": pl.String, "target": pl.Float64, "tolerance": pl.Float64,
                                      "set_by": pl.String, "agreed_on": pl.String, "note": pl.String})
    agreed = parse_dates(text.select("source_row", "agreed_on"), "agreed_on", extract)
    frame = frame.with_columns(agreed.alias("agreed_on"))
    late = frame.filter(pl.col("agreed_on").is_null() | (pl.col("agreed_on") > dt.date.today()))
    if late.height:
        problem = ("is blank: give the date the target was agreed" if late["agreed_on"][0] is None
                   else "is in the future: give the date the target was agreed")
        raise extract.error(problem, row=late["source_row"][0], column="agreed_on")
    repeated = frame.filter(pl.struct("la_code", "kpi_id", "from_period").is_duplicated())
    if repeated.height:
        raise extract.error("the same LA, KPI and from_period appear on more than one row (rows "
                            + ", ".join(map(str, repeated["source_row"].to_list()[:5])) + "); keep one",
                            row=repeated["source_row"][0], column="kpi_id")
    return frame.select(*TARGET_COLUMNS, "source_row")


def _number(text: str | None) -> float | None:
    try:
        value = float(str(text).replace(",", "").strip())
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def template_csv(la: str | None = None) -> str:
    """The targets template: the header and one row per catalogue KPI with the target left blank."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TARGET_COLUMNS)
    code = resolve_la_code(la) if la else ""
    for kpi in kpi_units():
        writer.writerow([code or "", kpi, "", "", "", "", "", ""])
    return buffer.getvalue()
