"""The scorecard page and workbook: what a board member, a screen reader and Excel each get.

Warehouses are built once per test run (demo data, and the real DfE files when ../shared/data is
present) by tests/conftest.py and shared with the other modules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipelines.cli import main
from pipelines.config import demo_la
from pipelines.reports.publication import small_number_mask
from pipelines.reports.scorecard import build_report, render_html, reports_dir, write_reports
from pipelines.reports.workbook import RAG_STYLES
from tests.conftest import build_demo

pytestmark = pytest.mark.slow

SCREENSHOT_DIR = Path(tempfile.gettempdir()) / "send-scorecard-screenshots"


def built_demo_warehouse(tmp_path_factory) -> Path:
    """The session's demo build (conftest's demo_built), for modules that ask for it by function."""
    return build_demo(tmp_path_factory)[0]


@pytest.fixture(scope="session")
def demo_warehouse(demo_built) -> Path:
    return demo_built[0]  # conftest: built once per run, shared with tests/test_exports.py


@pytest.fixture(scope="session")
def demo_files(demo_warehouse) -> dict[str, Path]:
    """The demo LA's scorecard (HTML, XLSX) written by write_reports, timed."""
    started = time.monotonic()
    html, xlsx = write_reports(demo_warehouse, demo_la())
    seconds = time.monotonic() - started
    print(f"\nwrite_reports for the demo LA took {seconds:.2f} s")  # noqa: T201 - reported in -s runs
    return {"html": html, "xlsx": xlsx, "seconds": seconds}


def query(warehouse: Path, sql: str, params=None) -> list[dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


class Page(HTMLParser):
    """The parts of a scorecard page the tests look at; also checks that elements nest properly."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "source", "wbr", "area", "base", "circle", "line",
            "polyline", "path", "rect"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.attrs: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.rows: dict[str, list[str]] = {}  # tr id -> its cells' text
        self._row: str | None = None
        self._cell: list[str] | None = None
        self.cells_by_row: dict[str, list[tuple[dict, str]]] = {}
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.attrs.append((tag, attributes))
        if tag == "tr" and attributes.get("id"):
            self._row = attributes["id"]
            self.cells_by_row[self._row] = []
        if tag in ("td", "th") and self._row:
            self._cell = []
            self.cells_by_row[self._row].append((attributes, ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attrs.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in ("td", "th") and self._row and self._cell is not None:
            attributes, _ = self.cells_by_row[self._row][-1]
            self.cells_by_row[self._row][-1] = (attributes, " ".join(" ".join(self._cell).split()))
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def row_text(self, kpi_id: str) -> list[str]:
        return [text for _, text in self.cells_by_row[f"kpi-{kpi_id}"]]


@pytest.fixture(scope="session")
def demo_page(demo_files) -> tuple[str, Page]:
    html = demo_files["html"].read_text(encoding="utf-8")
    return html, Page(html)


def test_the_demo_scorecard_parses_and_shows_every_catalogue_kpi(demo_warehouse, demo_page):
    html, page = demo_page
    assert not page.errors, page.errors[:5]
    catalogue = [r["kpi_id"] for r in query(demo_warehouse, "select kpi_id from marts.dim_kpi")]
    shown = set(page.cells_by_row)
    missing = [k for k in catalogue if f"kpi-{k}" not in shown]
    assert not missing, f"KPIs neither in the scorecard nor under 'to be further defined': {missing}"
    assert len(shown) == len(catalogue)  # each exactly once
    rows = query(demo_warehouse, "select kpi_id, rag_status from marts.fct_scorecard where la_code = ?", [demo_la()])
    tbd = html.split('id="tbd-heading"')[1]
    for row in rows:
        in_tbd = f'id="kpi-{row["kpi_id"]}"' in tbd
        assert in_tbd == (row["rag_status"] == "No data"), row


def test_the_summary_sentence_and_counts_are_the_marts(demo_warehouse, demo_page):
    _, page = demo_page
    summary = query(demo_warehouse, "select * from marts.fct_scorecard_summary where la_code = ?", [demo_la()])[0]
    assert summary["summary_sentence"] in page.all_text
    counts = re.search(r'<ul class="counts".*?</ul>', demo_page[0], re.S).group(0)
    tiles = dict((label, int(n)) for n, label in re.findall(
        r'<span class="n">(\d+)</span>\s*([A-Za-z ]+?)<span', counts))
    assert tiles == {"Green": summary["n_green"], "Amber": summary["n_amber"], "Red": summary["n_red"],
                     "Not rated": summary["n_not_rated"], "Context": summary["n_context"],
                     "To be defined": summary["n_to_be_defined"]}
    # the sentence comes first: before any scorecard table
    assert demo_page[0].index(escape(summary["summary_sentence"], quote=False)) < demo_page[0].index("<table")


def test_the_page_has_no_external_url_and_forbids_fetching(demo_page):
    html, page = demo_page
    for tag, attributes in page.attrs:
        for name in ("src", "href", "action", "data", "poster", "srcset", "xlink:href"):
            value = attributes.get(name) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, name, value)
            assert not value or value.startswith(("#", "data:")) or re.fullmatch(
                r"drilldown-E\d{8}-[\d-]+\.html#\w+", value), (tag, name, value)
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", attributes.get("style") or "")
    for css_url in re.findall(r"url\(([^)]*)\)", html):
        assert css_url.strip("'\" ").startswith(("data:", "#")), css_url
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    csp = [a for t, a in page.attrs if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0]["content"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def test_the_page_is_accessible_markup(demo_warehouse, demo_page):
    html, page = demo_page
    assert re.search(r'<html lang="en-GB">', html)
    assert "@page { size: A4 landscape" in html and "@media print" in html
    tables = html.count("<table")
    assert tables == html.count("<caption>") + html.count("<table aria-labelledby=")
    for tag, attributes in page.attrs:
        if tag == "th":
            assert attributes.get("scope") in ("col", "row"), attributes
        if tag == "svg" and "trend" in (attributes.get("class") or ""):
            assert attributes.get("role") == "img" and attributes.get("aria-labelledby")
    rated = query(demo_warehouse, """select kpi_id, rag_status, rag_reason, direction_of_travel
        from marts.fct_scorecard where la_code = ? and rag_status <> 'No data'""", [demo_la()])
    for row in rated:
        cells = page.cells_by_row[f"kpi-{row['kpi_id']}"]
        rag_attrs, rag_text = next(c for c in cells if "rag" in (c[0].get("class") or "").split())
        # the rating in words, its reason on hover and (visually hidden, printed) in the cell itself
        assert rag_text.startswith(row["rag_status"])
        assert rag_attrs["title"] == row["rag_reason"]
        assert row["rag_reason"].split(": ", 1)[1] in rag_text
        if row["direction_of_travel"]:
            assert any(row["direction_of_travel"] in text for _, text in cells)


def test_the_workbook_has_filled_rag_cells_and_numbers_stored_as_numbers(demo_warehouse, demo_files):
    wb = load_workbook(demo_files["xlsx"])
    assert wb.sheetnames == ["Summary", "S", "E", "P", "L", "Data"]
    scorecard = {r["kpi_id"]: r for r in query(demo_warehouse, """
        select s.*, k.decimal_places as dp from marts.fct_scorecard s join marts.dim_kpi k using (kpi_id)
        where la_code = ?""", [demo_la()])}
    seen = 0
    for family in "SEPL":
        ws = wb[family]
        header = [c.value for c in ws[1]]
        col = {name: i for i, name in enumerate(header)}
        assert ws.freeze_panes == "C2"
        for cells in ws.iter_rows(min_row=2):
            kpi = scorecard[cells[col["ID"]].value]
            seen += 1
            rag = cells[col["RAG"]]
            assert rag.value == kpi["rag_status"]
            assert rag.fill.fgColor.rgb[-6:] == RAG_STYLES[rag.value][0]
            value = cells[col["Value"]]
            if kpi["value"] is None:
                assert not isinstance(value.value, int | float)
                continue
            assert isinstance(value.value, int | float) and abs(value.value - kpi["value"]) < 1e-9
            dp = kpi["dp"]
            expected = {"count": "#,##0", "percent": ("0." + "0" * dp if dp else "0") + '"%"'}.get(
                kpi["unit"], "0." + "0" * dp if dp else "0")
            assert value.number_format == expected, (kpi["kpi_id"], value.number_format)
            for name, field in (("SN average", "sn_average"), ("England", "england_value"), ("Rank", "national_rank")):
                if kpi[field] is not None:
                    assert isinstance(cells[col[name]].value, int | float)
    assert seen == len(scorecard)
    summary = wb["Summary"]
    mart = query(demo_warehouse, "select * from marts.fct_scorecard_summary where la_code = ?", [demo_la()])[0]
    assert summary["A4"].value == mart["summary_sentence"]
    counts = {summary.cell(row=r, column=1).value: summary.cell(row=r, column=2).value for r in range(7, 13)}
    assert counts["Green"] == mart["n_green"] and counts["Red"] == mart["n_red"]
    assert summary.cell(row=7, column=1).fill.fgColor.rgb[-6:] == RAG_STYLES["Green"][0]
    data = wb["Data"]
    assert data.max_row > 100
    values = [c.value for c in next(data.iter_cols(min_col=5, max_col=5, min_row=2))]
    assert all(v is None or isinstance(v, int | float) for v in values)
    assert wb.properties.created == wb.properties.modified


def test_reports_are_reproducible_byte_for_byte(demo_warehouse, demo_files, tmp_path):
    again = write_reports(demo_warehouse, demo_la(), out_dir=tmp_path)
    assert again[0].read_bytes() == demo_files["html"].read_bytes()
    assert again[1].read_bytes() == demo_files["xlsx"].read_bytes()
    assert demo_files["html"].parent == reports_dir(demo_warehouse) == demo_warehouse.parent / "reports"


def test_the_publication_variant_shows_c_for_small_counts(demo_warehouse, tmp_path, monkeypatch):
    # the smallest count the demo LA's scorecard shows becomes a small number by setting the threshold to it
    counts = query(demo_warehouse, """select kpi_id, value from marts.fct_scorecard
        where la_code = ? and unit = 'count' and value > 0 order by value""", [demo_la()])
    smallest, larger = counts[0], [c for c in counts if c["value"] > counts[0]["value"]]
    monkeypatch.setenv("SEND_SUPPRESSION_THRESHOLD", str(int(smallest["value"])))
    html_path, xlsx_path = write_reports(demo_warehouse, demo_la(), publication=True, out_dir=tmp_path)
    assert html_path.name.endswith("-publication.html") and xlsx_path.name.endswith("-publication.xlsx")
    page = Page(html_path.read_text(encoding="utf-8"))
    small = page.row_text(smallest["kpi_id"])
    assert small[2].startswith("c ") or small[2] == "c", small
    assert f"{smallest['value']:,.0f}" not in " ".join(small[2:4])
    for other in larger:
        assert page.row_text(other["kpi_id"])[2].split()[0] == f"{other['value']:,.0f}"
    assert "Publication version" in page.all_text
    wb = load_workbook(xlsx_path)
    ws = wb[smallest["kpi_id"][0]]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == smallest["kpi_id"])
    assert row[header.index("Value")].value == "c"


def test_small_number_rule_uses_counts_and_the_numerators_and_denominators_of_rates():
    import polars as pl

    frame = pl.DataFrame({
        "unit": ["count", "count", "count", "percent", "percent", "percent", "score"],
        "value": [0.0, 3.0, 6.0, 50.0, 40.0, 80.0, 4.5],
        "numerator": [None, None, None, 3.0, 40.0, 0.0, 450.0],
        "denominator": [None, None, None, 6.0, 100.0, 4.0, 100.0],
    })
    assert small_number_mask(frame, 5).to_list() == [False, True, False, True, False, True, False]


def test_la_is_found_by_code_number_or_name_and_an_unknown_one_is_one_sentence(demo_warehouse, monkeypatch):
    monkeypatch.setenv("SEND_WAREHOUSE", str(demo_warehouse))
    by_name = build_report(demo_warehouse, "stockport")
    assert by_name.la.la_code == "E08000007"
    assert build_report(demo_warehouse, by_name.la.old_la_code).la.la_code == "E08000007"
    assert build_report(demo_warehouse, "e08000007", "latest").la.la_name == "Stockport"
    result = CliRunner().invoke(main, ["report", "--la", "Stokport"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "No local authority matches 'Stokport'" in message and "Stockport (E08000007)" in message
    assert "Traceback" not in result.output
    bad_period = CliRunner().invoke(main, ["report", "--la", "stockport", "--period", "1999-01-01"])
    assert bad_period.exit_code == 1 and "no scorecard for the period" in " ".join(bad_period.output.split())


def test_the_report_command_writes_beside_the_warehouse_without_writing_to_it(demo_warehouse, monkeypatch):
    monkeypatch.setenv("SEND_WAREHOUSE", str(demo_warehouse))
    before = demo_warehouse.stat().st_mtime_ns
    result = CliRunner().invoke(main, ["report", "--la", "STOCKPORT", "--publication"])
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.output.splitlines() if line.endswith((".html", ".xlsx"))]
    assert len(written) == 2  # the publication variant has no drill-down page
    for path in written:
        assert re.fullmatch(r"scorecard-E08000007-\d{4}-\d{2}-\d{2}-publication\.(html|xlsx)", path.name)
    assert all(p.parent == demo_warehouse.parent / "reports" and p.exists() for p in written)
    assert demo_warehouse.stat().st_mtime_ns == before


def test_report_generation_is_quick(demo_files):
    assert demo_files["seconds"] < 30


# --- the page in a real browser -------------------------------------------------------------------------

def chromium() -> str:
    """The Chromium binary; installs Debian's package when missing and running as root, else skips."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed (/usr/bin/chromium) and there is no apt-get to install it")
    if os.geteuid() != 0:
        pytest.skip("Chromium is not installed (/usr/bin/chromium); install it as root: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True,
                             timeout=1200, env=env)
    if install.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, env=env)
        install = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True,
                                 timeout=1200, env=env)
    found = shutil.which("chromium")
    if install.returncode != 0 or not found:
        tail = " ".join((install.stderr or install.stdout).split())[-300:]
        pytest.skip(f"Chromium could not be installed with apt-get: {tail}")
    return found


def run_chromium(binary: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
        f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", *extra, page.as_uri(),
    ], capture_output=True, text=True, timeout=180)


def page_requests(net_log: Path) -> list[str]:
    """URLs the page itself asked for. Chromium's own background requests carry no origin
    ('not an origin'); a request from the page carries the page's origin (for file:// 'null')."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start_job and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_a_headless_browser_renders_and_prints_it_without_network_requests(demo_files, tmp_path):
    binary = chromium()
    page = demo_files["html"]
    shot = tmp_path / f"{page.stem}.png"
    net_log = tmp_path / "netlog.json"
    result = run_chromium(binary, page, tmp_path / "profile", "--window-size=1480,2400",
                          f"--screenshot={shot}", f"--log-net-log={net_log}")
    assert shot.exists(), result.stderr[-2000:]
    assert png_size(shot) == (1480, 2400) and shot.stat().st_size > 50_000
    assert page_requests(net_log) == []
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT_DIR / shot.name)  # kept for a person to look at

    pdf = tmp_path / f"{page.stem}.pdf"
    run_chromium(binary, page, tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf.read_bytes())
    assert boxes, "no pages printed"
    for width, height in boxes:  # A4 landscape: 842 x 595 points
        assert abs(float(width) - 842) < 2 and abs(float(height) - 595) < 2


def test_the_browser_check_would_see_a_page_that_fetches(tmp_path):
    """The network check itself works: a page that loads an image from the web is caught."""
    binary = chromium()
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><html lang="en"><body><img alt="" src="https://example.org/x.png"></body></html>')
    net_log = tmp_path / "netlog.json"
    run_chromium(binary, page, tmp_path / "profile", f"--screenshot={tmp_path / 'x.png'}", f"--log-net-log={net_log}")
    assert page_requests(net_log) == ["https://example.org/x.png"]


# --- the real data: Stockport ------------------------------------------------------------------------

@pytest.mark.real_data
def test_stockport_s5_on_the_real_data_is_red_and_declining(real_built):
    warehouse = real_built[0]
    report = build_report(warehouse, "stockport")
    s5 = next(r for r in report.rows if r["kpi_id"] == "S5")
    assert (s5["value_text"], s5["period_label"], s5["rag_status"]) == ("7.8%", "2024", "Red")
    assert (s5["direction_of_travel"], s5["previous_text"]) == ("declining", "9.9%")
    assert (s5["region_text"], s5["england_text"]) == ("50.5%", "46.4%")
    page = Page(render_html(report))
    cells = page.row_text("S5")
    text = " | ".join(cells)
    for expected in ("7.8%", "declining", "from 9.9% (2023)", "50.5%", "46.4%", "Red"):
        assert expected in text, (expected, text)
    header = re.search(r'<table class="scorecard">.*?</thead>', render_html(report), re.S).group(0)
    assert "North West" in header and "England" in header


# --- definition breaks as footnotes (design.md section 8) ---------------------------------------------

def _series(*periods: tuple[str, str, float | None, float | None]):
    import datetime as dt

    import polars as pl
    return pl.DataFrame({
        "period_start": [dt.date.fromisoformat(p[0]) for p in periods],
        "period_end": [dt.date.fromisoformat(p[1]) for p in periods],
        "value": [p[2] for p in periods], "sn_average": [p[3] for p in periods],
        "england_value": [None] * len(periods)}, schema_overrides={"england_value": pl.Float64})


def test_a_break_note_is_shown_only_where_the_trend_crosses_it():
    import datetime as dt

    from pipelines.reports.scorecard import DefinitionBreak, breaks_crossed

    sen2 = DefinitionBreak(frozenset({"S5"}), dt.date(2019, 1, 1), dt.date(2019, 1, 1), "SEN2 break")
    exams = DefinitionBreak(frozenset({"E3"}), dt.date(2019, 9, 1), dt.date(2021, 8, 31), "no exams")
    groupings = DefinitionBreak(frozenset(), dt.date(2025, 5, 1), dt.date(2025, 5, 1), "SN groupings")
    breaks = [sen2, exams, groupings]
    s5 = {"kpi_id": "S5", "is_benchmarked": True}
    years = [(f"{y}-01-01", f"{y}-12-31", 50.0, 48.0) for y in range(2016, 2025)]
    assert breaks_crossed(_series(*years), s5, breaks) == ["SEN2 break"]
    assert breaks_crossed(_series(*years[3:]), s5, breaks) == []  # the series starts at the break
    assert breaks_crossed(_series(*years[:3]), s5, breaks) == []  # and ends before it
    # years before the break without a figure are not a crossing
    blank = [(start, end, None, None) for start, end, _, _ in years[:3]] + years[3:]
    assert breaks_crossed(_series(*blank), s5, breaks) == []
    e3 = {"kpi_id": "E3", "is_benchmarked": True}
    academic = [(f"{y}-09-01", f"{y + 1}-08-31", 40.0, 41.0) for y in range(2017, 2025)]
    # 2017/18 to 2024/25: the exams gap and May 2025 (2024/25 ends after it; SN line drawn)
    assert breaks_crossed(_series(*academic), e3, breaks) == ["no exams", "SN groupings"]
    assert breaks_crossed(_series(*academic[3:7]), e3, breaks) == ["no exams"]  # 2020/21 to 2023/24
    assert breaks_crossed(_series(*academic[4:7]), e3, breaks) == []  # 2021/22 on: after the gap
    no_sn = [(s, e, v, None) for s, e, v, _ in academic]
    assert breaks_crossed(_series(*no_sn), e3, breaks) == ["no exams"]  # no SN line, no SN note
    count = {"kpi_id": "S9", "is_benchmarked": False}
    assert breaks_crossed(_series(*academic), count, breaks) == []


@pytest.mark.real_data
def test_stockport_trends_that_cross_a_definition_break_carry_its_note(real_built):
    report = build_report(real_built[0], "stockport")
    with duckdb.connect(str(real_built[0]), read_only=True) as con:
        notes = dict(con.execute("select break_id, note from reference.definition_breaks").fetchall())
    family = {f["code"]: f for f in report.families}
    numbered = {note["n"]: note["text"] for f in family.values() for note in f["notes"] if f["code"] == "S"}
    by_kpi = {r["kpi_id"]: [numbered[n] for n in r["note_refs"]] for r in family["S"]["rows"]}
    # S5 runs from 2014 (the 2019 and 2023 editions) across the SEN2 restart at 2019
    assert notes["sen2_person_level"] in by_kpi["S5"]
    assert notes["sen2_person_level"] in by_kpi["S5_inc"]
    # S11 has figures only from 2023 (the 2023 edition withdrew 2014-2018, the 2025 release has none
    # before 2023): no crossing
    assert notes["sen2_person_level"] not in by_kpi["S11"]
    e_notes = {note["n"]: note["text"] for note in family["E"]["notes"]}
    e3 = [e_notes[n] for n in next(r for r in family["E"]["rows"] if r["kpi_id"] == "E3")["note_refs"]]
    assert notes["ks4_assessed_grades_2020_2021"] in e3
    page = render_html(report)
    assert notes["sen2_person_level"].split(";")[0] in page  # numbered under the table
