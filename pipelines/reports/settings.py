"""The LA's scorecard settings: priority, outcome or theme, owner and commentary per KPI.

A file in the drop-zone, `scorecard_settings.csv` or `scorecard_settings.xlsx` (first sheet), one
row per KPI and board month:

    kpi_id, title, priority, theme, owner, period, figure, commentary

- kpi_id: a catalogue KPI (S5); title is for the reader of the file and is not read.
- priority, theme, owner: shown beside the measure; theme (an outcome of the LA's framework)
  groups the scorecard's tables when any KPI has one.
- period: the board month the row was written for (2026-11). A row applies from its month until a
  later row for the KPI replaces it, so a commentary is carried into the next month.
- figure: the figure the commentary was written about (the template fills it in); when the
  scorecard's figure differs, the commentary is marked "the figure has changed since".

`send-scorecard settings-template --la X` writes the file with every KPI, this month's figures and
what the current settings say, ready to fill in. A wrong file is refused in one sentence naming the
file, row and column; the scorecard is then written without the settings.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import SendScorecardError
from pipelines.suppression import FORMULA_PREFIXES, escape_workbook, safe_cell

COLUMNS = ("kpi_id", "title", "priority", "theme", "owner", "period", "figure", "commentary")
REQUIRED = ("kpi_id", "period")
FILE_STEM = "scorecard_settings"
MAX_TEXT = 2000


class SettingsError(SendScorecardError):
    """The scorecard settings file cannot be read as it stands."""


@dataclass(frozen=True)
class KpiSettings:
    priority: str | None = None
    theme: str | None = None
    owner: str | None = None
    period: str | None = None  # the month of the commentary
    figure: str | None = None
    commentary: str | None = None


def settings_path(raw_dir: Path) -> Path | None:
    """The settings file in the drop-zone (CSV preferred when both exist), or None."""
    for suffix in (".csv", ".xlsx"):
        path = Path(raw_dir) / f"{FILE_STEM}{suffix}"
        if path.is_file():
            return path
    return None


def is_settings_file(path: Path) -> bool:
    """True for the settings file, which the national and local loaders leave alone."""
    return Path(path).name.lower() in (f"{FILE_STEM}.csv", f"{FILE_STEM}.xlsx")


def _clean(value) -> str | None:
    """A cell as text, spaces tidied; the apostrophe the template puts before text that looks like
    a formula ('-0.64) is taken off again."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
        text = text[1:]
    return text or None


def _read_rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            rows = list(wb.worksheets[0].iter_rows(values_only=True))
        finally:
            wb.close()
        if not rows:
            return []
        header = [_clean(h) for h in rows[0]]
        return [dict(zip(header, row, strict=False)) for row in rows[1:]]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def read_settings(path: Path, known_kpis: set[str]) -> list[dict]:
    """The rows of the settings file, checked: raises SettingsError naming the file, row and column."""
    rows = _read_rows(path)
    header = {(_clean(k) or "").lower() for r in rows[:1] for k in r}
    if rows:
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise SettingsError(f"{path.name}: the header has no {' or '.join(missing)} column; the columns are "
                                f"{', '.join(COLUMNS)} ('send-scorecard settings-template' writes the file).")
    out = []
    for number, raw in enumerate(rows, start=2):
        row = {(_clean(k) or "").lower(): _clean(v) for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        kpi = row.get("kpi_id")
        if not kpi:
            raise SettingsError(f"{path.name}, row {number}, column kpi_id: the KPI id is empty.")
        if kpi not in known_kpis:
            matches = [k for k in known_kpis if k.lower() == kpi.lower()]
            if not matches:
                raise SettingsError(f"{path.name}, row {number}, column kpi_id: '{kpi}' is not a KPI of the catalogue.")
            kpi = matches[0]
        period = row.get("period")
        if not period or not re.fullmatch(r"\d{4}-\d{2}", period[:7]) or not 1 <= int(period[5:7]) <= 12:
            raise SettingsError(f"{path.name}, row {number}, column period: write the board month as 2026-11.")
        for column in ("priority", "theme", "owner", "figure", "commentary"):
            if row.get(column) and len(row[column]) > MAX_TEXT:
                raise SettingsError(f"{path.name}, row {number}, column {column}: longer than {MAX_TEXT} characters.")
        out.append({**{c: row.get(c) for c in COLUMNS}, "kpi_id": kpi, "period": period[:7], "row": number})
    return out


def settings_for(rows: list[dict], month: str) -> dict[str, KpiSettings]:
    """Per KPI, what applies in `month` (YYYY-MM): each field from the latest row of that month or
    before that gives it; the commentary (with its period and figure) from the latest such row."""
    out: dict[str, KpiSettings] = {}
    for kpi in sorted({r["kpi_id"] for r in rows}):
        applicable = sorted((r for r in rows if r["kpi_id"] == kpi and r["period"] <= month),
                            key=lambda r: (r["period"], r["row"]))
        if not applicable:
            continue

        def latest(column: str, rows_in: list[dict] = applicable) -> str | None:
            return next((r[column] for r in reversed(rows_in) if r[column]), None)

        commented = [r for r in applicable if r["commentary"]]
        comment = commented[-1] if commented else None
        out[kpi] = KpiSettings(priority=latest("priority"), theme=latest("theme"), owner=latest("owner"),
                               period=comment["period"] if comment else None,
                               figure=comment["figure"] if comment else None,
                               commentary=comment["commentary"] if comment else None)
    return out


def month_label(month: str) -> str:
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def write_template(path: Path, rows: list[dict], month: str, current: dict[str, KpiSettings]) -> Path:
    """The settings file for `month` with every scorecard row (kpi_id, title, value_text) and what
    `current` says, as CSV or XLSX by the file's extension."""
    records = []
    for row in rows:
        now = current.get(row["kpi_id"], KpiSettings())
        records.append({
            "kpi_id": row["kpi_id"], "title": row["title"], "priority": now.priority, "theme": now.theme,
            "owner": now.owner, "period": month, "figure": row.get("value_text"),
            "commentary": now.commentary if now.period == month else None,
        })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "Settings"
        ws.append(list(COLUMNS))
        for record in records:
            ws.append([record[c] for c in COLUMNS])
        escape_workbook(wb)  # text, never a live formula
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: safe_cell(v) if isinstance(v, str) else v for k, v in r.items()} for r in records)
    else:
        raise SendScorecardError(f"{path.name}: write the settings template as .csv or .xlsx.")
    return path
