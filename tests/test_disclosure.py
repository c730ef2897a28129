"""Disclosure control: no published output of the demo shows a small count, and no cell is a live formula.

The publication scan renders the publication scorecard (HTML and XLSX) and the JSNA export without the
rights flags (CSV, XLSX, Parquet) with thresholds 5 and 50, and looks at every text node, cell and SVG
label of every KPI for the LA's own counts from 1 to the threshold (values of count measures,
numerators and denominators, previous and provisional monthly figures, every period).
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from pipelines.config import demo_la
from pipelines.reports.export import export_kpis, read_export, write_export
from pipelines.reports.scorecard import write_reports
from pipelines.suppression import THRESHOLD_ENV, escape_formulas, safe_cell, suppress, suppressed_mask
from tests.test_scorecard_report import query

THRESHOLDS = (5, 50)


@pytest.fixture(scope="session")
def demo_warehouse(demo_built) -> Path:
    return demo_built[0]  # conftest: built once per run


# ---------------------------------------------------------------------------------------------
# What must not appear: the LA's counts from 1 to the threshold, per KPI


def small_counts(warehouse: Path, la_code: str, threshold: int) -> dict[str, set[float]]:
    """KPI -> the LA's counts from 1 to `threshold` in any period and any source (local or national)."""
    rows = query(warehouse, """
        select v.kpi_id, k.unit, v.value, v.numerator, v.denominator
        from marts.fct_kpi_values as v join marts.dim_kpi as k using (kpi_id)
        where v.geo_level = 'la' and v.geo_code = ?""", [la_code])
    rows += [{"kpi_id": r["kpi_id"], "unit": r["unit"], "value": v, "numerator": None, "denominator": None}
             for r in query(warehouse, """
                 select kpi_id, unit, previous_value, provisional_value, provisional_previous_value,
                     provisional_last_year_value
                 from marts.fct_scorecard where la_code = ?""", [la_code])
             for v in (r["previous_value"], r["provisional_value"], r["provisional_previous_value"],
                       r["provisional_last_year_value"])]
    found: dict[str, set[float]] = {}
    for row in rows:
        figures = [row["numerator"], row["denominator"]] + ([row["value"]] if row["unit"] == "count" else [])
        found.setdefault(row["kpi_id"], set()).update(
            float(f) for f in figures if f is not None and 1 <= f <= threshold)
    return found


NUMBER = re.compile(r"(?<![\w.,/:-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w%/:]|[.,-]\d)")
NOT_COUNTS = (
    re.compile(r"\d+ of \d+"),  # statistical neighbours reporting, rank of LAs ranked
    re.compile(r"count of \d+ or fewer|from 1 to \d+"),  # the threshold itself
    re.compile(r"target of -?[\d.,]+%?|-?[\d.]+ point tolerance"),  # the owner's target, not data
    re.compile(r"\b20[ -]weeks?\b", re.IGNORECASE),  # the statutory time limit in titles and source names
)
DATE = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b")  # e.g. when a target was agreed


def figures_in(text: str, labels: list[str]) -> set[float]:
    """The numbers a reader sees in `text`, once period labels, KPI titles and the phrases of
    NOT_COUNTS are taken out; a percentage is not a count, nor is a date."""
    text = DATE.sub(" ", text)  # before the labels, which would take 'Mar 2025' out of '14 Mar 2025'
    for label in labels:
        text = text.replace(label, " ")
    for pattern in NOT_COUNTS:
        text = pattern.sub(" ", text)
    return {float(m.group(1).replace(",", "") + (m.group(2) or "")) for m in NUMBER.finditer(text)}


class KpiRows(HTMLParser):
    """The text of each <tr id="kpi-..."> (attributes such as title and the SVG's labels included),
    without the Target cell (the owner's number), with the numbered notes under the table that the
    row refers to (the note numbers themselves are not figures)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[str]] = {}
        self.headers: list[str] = []
        self._row: str | None = None
        self._cell = 0
        self._in_head = False
        self._skip = False
        self._in_refs = False
        self._refs: dict[str, list[str]] = {}
        self._notes: dict[str, list[str]] = {}
        self._note: str | None = None
        self.feed(html)
        for kpi, refs in self._refs.items():
            for ref in refs:
                self.rows[kpi].extend(self._notes.get(ref, []))

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "thead":
            self._in_head, self.headers = True, []
        if tag == "sup" and "refs" in (attributes.get("class") or ""):
            self._in_refs = True
        if self._in_refs:
            if tag == "a" and self._row:
                self._refs.setdefault(self._row, []).append((attributes.get("href") or "").lstrip("#"))
            return
        if tag == "li" and (attributes.get("id") or "").startswith("note-"):
            self._note = attributes["id"]
            self._notes[self._note] = []
        if tag == "tr" and (attributes.get("id") or "").startswith("kpi-"):
            self._row, self._cell = attributes["id"][4:], 0
            self.rows.setdefault(self._row, [])
        elif tag in ("td", "th") and self._row:
            header = self.headers[self._cell] if self._cell < len(self.headers) else ""
            self._skip = header == "Target"
            self._cell += 1
        if self._row and not self._skip:
            self.rows[self._row].extend(v for k, v in attributes.items() if k in ("title", "aria-label") and v)

    def handle_endtag(self, tag):
        if tag == "sup":
            self._in_refs = False
        if tag == "li":
            self._note = None
        if tag == "thead":
            self._in_head = False
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_refs:
            return
        if self._note:
            self._notes[self._note].append(data)
        if self._in_head and data.strip():
            self.headers.append(data.strip())
        elif self._row and not self._skip:
            self.rows[self._row].append(data)


def labels_of(warehouse: Path) -> list[str]:
    periods = [r["period_label"] for r in query(warehouse, "select period_label from marts.dim_period")]
    titles = [r["title"] for r in query(warehouse, "select title from marts.dim_kpi")]
    return sorted({t for t in periods + titles if t}, key=len, reverse=True)


@pytest.fixture(scope="module", params=THRESHOLDS)
def publication(request, demo_warehouse, tmp_path_factory):
    """The publication outputs of the demo LA at one threshold, and what they must not show."""
    threshold = request.param
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(THRESHOLD_ENV, str(threshold))
        out = tmp_path_factory.mktemp(f"publication-{threshold}")
        html, xlsx = write_reports(demo_warehouse, demo_la(), publication=True, out_dir=out)
        frame = export_kpis(demo_warehouse, las=[demo_la()])  # the LA, its region and England, every KPI and year
        exports = [write_export(frame, out / f"export.{fmt}") for fmt in ("csv", "xlsx", "parquet")]
    forbidden = small_counts(demo_warehouse, demo_la(), threshold)
    assert sum(map(len, forbidden.values())) >= 3, "the demo LA should have small counts to hide"
    return {"threshold": threshold, "html": html, "xlsx": xlsx, "exports": exports, "forbidden": forbidden,
            "labels": labels_of(demo_warehouse),
            "units": {r["kpi_id"]: r["unit"] for r in query(demo_warehouse, "select kpi_id, unit from marts.dim_kpi")}}


def test_the_publication_page_shows_no_small_count(publication):
    page = KpiRows(publication["html"].read_text(encoding="utf-8"))
    assert len(page.rows) >= 30
    leaks = []
    for kpi, texts in page.rows.items():
        shown = figures_in(" ".join(texts), publication["labels"])
        leaks += [f"{kpi}: {n:g}" for n in sorted(shown & publication["forbidden"].get(kpi, set()))]
    assert not leaks, f"threshold {publication['threshold']}: {leaks}"


def test_the_publication_workbook_shows_no_small_count(publication):
    wb = load_workbook(publication["xlsx"], data_only=False)
    units = publication["units"]
    leaks, scanned = [], 0
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows or rows[0][0] not in ("ID", "kpi_id"):
            continue
        header = list(rows[0])
        for row in rows[1:]:
            record = dict(zip(header, row, strict=False))
            kpi = record.get("ID") or record.get("kpi_id")
            forbidden = publication["forbidden"].get(kpi, set())
            for name, value in record.items():
                scanned += 1
                if name in ("Target", "Target tolerance") or value is None:
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    is_count_column = name in ("numerator", "denominator") or (
                        name in ("Value", "Previous value", "value", "previous_value")
                        and units.get(kpi, "count") == "count")
                    if is_count_column and float(value) in forbidden:
                        leaks.append(f"{ws.title}!{kpi} {name}: {value:g}")
                elif isinstance(value, str):
                    leaks += [f"{ws.title}!{kpi} {name}: {n:g}"
                              for n in figures_in(value, publication["labels"]) & forbidden]
    assert scanned > 1000
    assert not leaks, f"threshold {publication['threshold']}: {leaks[:20]}"


def test_exports_without_the_rights_flags_hold_no_small_count(publication):
    threshold = publication["threshold"]
    for path in publication["exports"]:
        frame = read_export(path)
        assert frame.height > 500
        small = lambda c: (pl.col(c) >= 1) & (pl.col(c) <= threshold)  # noqa: E731
        leaks = frame.filter(((pl.col("unit") == "count") & small("value")) | small("numerator") | small("denominator"))
        assert leaks.is_empty(), f"{path.name} at threshold {threshold}: {leaks.head(5)}"
        if threshold == 50:  # the demo LA's published counts below 50 (S11, S12 ...) are withheld
            assert frame.filter(pl.col("value_status") == "suppressed").height > 0


def test_provisional_local_figures_are_suppressed_in_the_flags(demo_warehouse, tmp_path, monkeypatch):
    """The case in the issue: with threshold 50, S11's and S12's local monthly figures (40 and 30 in the
    demo) used to appear in the flags of the publication page."""
    monkeypatch.setenv(THRESHOLD_ENV, "50")
    html, _ = write_reports(demo_warehouse, demo_la(), publication=True, out_dir=tmp_path)
    page = KpiRows(html.read_text(encoding="utf-8"))
    for kpi in ("S11", "S12"):
        text = " ".join(page.rows[kpi])
        assert "Local monthly figure c " in text, text


# ---------------------------------------------------------------------------------------------
# The one suppression rule


def test_a_score_is_judged_by_its_counts_not_its_size():
    frame = pl.DataFrame({"unit": ["score", "score", "count"], "value": [4.5, 4.5, 4.0],
                          "numerator": [90.0, 3.0, None], "denominator": [20.0, 20.0, None]})
    assert suppress(frame, threshold=5)["value"].to_list() == [4.5, None, None]
    assert suppressed_mask(frame, 5).to_list() == [False, True, True]


# ---------------------------------------------------------------------------------------------
# Formula injection


def test_safe_cell_escapes_formula_starts_and_keeps_numbers():
    for text in ("=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","Stockport")'):
        assert safe_cell(text) == "'" + text
    for value in ("Stockport", "", 5, -3.5, None, True):
        assert safe_cell(value) == value
    frame = escape_formulas(pl.DataFrame({"name": ["=cmd|' /C calc'!A0", "ok"], "n": [-1, 2],
                                          "ids": [["a"], ["=b"]]}))
    assert frame["name"].to_list() == ["'=cmd|' /C calc'!A0", "ok"]
    assert frame["n"].to_list() == [-1, 2]
    assert frame["ids"].to_list() == ['["a"]', '["=b"]']


def test_no_export_or_report_writer_leaves_a_live_formula(demo_warehouse, tmp_path):
    """An LA name that is a formula in the LA lookup: every writer keeps it as text."""
    import shutil

    import duckdb

    warehouse = tmp_path / "send.duckdb"
    shutil.copyfile(demo_warehouse, warehouse)
    evil = '=HYPERLINK("http://example.invalid","Stockport")'
    con = duckdb.connect(str(warehouse))
    con.execute("update marts.dim_la set la_name = ? where la_code = ?", [evil, demo_la()])
    con.execute("update marts.fct_kpi_values set source = '@evil' where geo_code = ? and kpi_id = 'S11'", [demo_la()])
    con.close()
    frame = export_kpis(warehouse, ["S5", "S11"], [demo_la()])
    assert evil in frame["geography_name"].to_list()
    xlsx = write_export(frame, tmp_path / "export.xlsx")
    csv = write_export(frame, tmp_path / "export.csv")
    reports = write_reports(warehouse, demo_la(), out_dir=tmp_path / "reports")
    reports += write_reports(warehouse, demo_la(), publication=True, out_dir=tmp_path / "reports")
    for path in [xlsx, *[p for p in reports if p.suffix == ".xlsx"]]:
        wb = load_workbook(path)
        formulas = [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
                    if c.data_type == "f" or (isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")))]
        assert not formulas, f"{path.name}: {formulas[:5]}"
        values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        assert any(isinstance(v, str) and "HYPERLINK" in v for v in values), path.name
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        assert numbers and all(not math.isnan(v) for v in numbers)  # numbers stay numbers
    text = csv.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text and ",@" not in text
