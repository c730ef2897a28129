"""How the scorecard looks: printed on A4 landscape, on a desktop screen and on a phone.

Headless Chromium prints the demo LA's scorecard (all 35 catalogue KPIs) and screenshots it at
1400 px and 390 px; the screenshots (and PNGs of the printed pages) are kept in
SCREENSHOT_DIR for a person to look at. The tests skip with the reason when Chromium is absent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines.config import demo_la
from pipelines.reports.charts import TrendPoint, axis_range, trend_svg
from pipelines.reports.scorecard import write_reports
from tests.test_scorecard_report import SCREENSHOT_DIR, chromium, png_size, query

pytestmark = pytest.mark.slow

MAX_PAGES = 4


def browser(binary: str, page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--hide-scrollbars", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", *extra,
        page.as_uri(),
    ], capture_output=True, text=True, timeout=180)


def screenshot(binary: str, page: Path, out: Path, width: int, height: int, profile: Path) -> Path:
    result = browser(binary, page, profile, f"--window-size={width},{height}", f"--screenshot={out}")
    assert out.exists(), result.stderr[-2000:]
    keep(out)
    return out


def print_pdf(binary: str, page: Path, out: Path, profile: Path) -> Path:
    result = browser(binary, page, profile, "--no-pdf-header-footer", f"--print-to-pdf={out}")
    assert out.exists(), result.stderr[-2000:]
    return out


def keep(path: Path) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOT_DIR / path.name)


class VisibleText(HTMLParser):
    """The words a page shows (not its <style>, <title> or SVG <title>)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.words: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "head"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title", "head"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.words.update(tokens(data))


def tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^\w%]+", text) if t}


@pytest.fixture(scope="module")
def demo_scorecard(demo_built, tmp_path_factory) -> Path:
    warehouse = demo_built[0]
    html, _ = write_reports(warehouse, demo_la(), out_dir=tmp_path_factory.mktemp("layout"))
    return html


@pytest.fixture(scope="module")
def printed(demo_scorecard, tmp_path_factory):
    """The demo scorecard printed to PDF by Chromium, opened with pdfium."""
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 (a dev dependency) reads the printed PDF")
    binary = chromium()
    work = tmp_path_factory.mktemp("print")
    pdf = print_pdf(binary, demo_scorecard, work / f"{demo_scorecard.stem}.pdf", work / "profile")
    keep(pdf)
    return pdfium.PdfDocument(pdf)


def test_the_catalogue_kpis_print_on_at_most_four_a4_landscape_pages(demo_built, printed, demo_scorecard, tmp_path_factory):
    catalogue = query(demo_built[0],
                      "select count(*) filter (where parent_kpi_id is null) as headline, count(*) as n from marts.dim_kpi")
    assert catalogue[0]["headline"] >= 35  # the 35 of the issue, and measures added since
    assert demo_scorecard.read_text(encoding="utf-8").count('<tr id="kpi-') == catalogue[0]["n"]
    assert 1 <= len(printed) <= MAX_PAGES, f"the scorecard prints on {len(printed)} pages"
    for index in range(len(printed)):
        width, height = printed[index].get_size()
        assert abs(width - 842) < 2 and abs(height - 595) < 2  # A4 landscape in points
        image = printed[index].render(scale=1.5).to_pil()
        name = SCREENSHOT_DIR / f"{demo_scorecard.stem}-print-page-{index + 1}.png"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        image.save(name)


def test_no_word_is_split_in_print(printed, demo_scorecard):
    """Every word of the printed pages is a word of the page: a word broken over two lines
    ("benchmar ks") or hyphenated by the browser would show up as a fragment."""
    shown = VisibleText(demo_scorecard.read_text(encoding="utf-8")).words
    fragments = set()
    for index in range(len(printed)):
        text = printed[index].get_textpage().get_text_range()
        fragments |= tokens(text) - shown
    assert not fragments, sorted(fragments)[:20]


def test_every_family_table_has_numbered_notes_and_no_flags_column(demo_scorecard):
    html = demo_scorecard.read_text(encoding="utf-8")
    assert ">Flags<" not in html
    for family in "SEPL":
        section = html.split(f'id="family-{family}"')[1].split("</section>")[0]
        refs = {int(n) for n in re.findall(rf'href="#note-{family}-(\d+)"', section)}
        notes = {int(n) for n in re.findall(rf'<li id="note-{family}-(\d+)"', section)}
        assert refs and refs == notes == set(range(1, len(notes) + 1)), family
    # the long local-figure note is a footnote, once per text, not in a table cell
    s5 = html.split('id="kpi-S5"')[1].split("</tr>")[0]
    assert "Local monthly figure" not in s5


def test_desktop_and_phone_screenshots(demo_scorecard, tmp_path):
    binary = chromium()
    wide = screenshot(binary, demo_scorecard, tmp_path / f"{demo_scorecard.stem}-1400.png", 1400, 2600,
                      tmp_path / "profile")
    assert png_size(wide) == (1400, 2600) and wide.stat().st_size > 50_000
    phone = screenshot(binary, demo_scorecard, tmp_path / f"{demo_scorecard.stem}-390.png", 390, 2600,
                       tmp_path / "profile")
    assert png_size(phone) == (390, 2600)


def test_on_a_phone_nothing_is_wider_than_the_screen(demo_scorecard, tmp_path):
    """At 390 px nothing sticks out sideways. Chromium lays out a copy of the page with a probe
    script: the page is held to 390 px (a headless window is at least 500 px wide, which is still
    the phone layout) and the right edge of every element is reported through the page's title."""
    binary = chromium()
    html = demo_scorecard.read_text(encoding="utf-8")
    html = html.replace("default-src 'none'; style-src 'unsafe-inline'",
                        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
    probe = ("<script>window.addEventListener('load', () => {"
             " document.documentElement.style.width = '390px';"
             " let widest = 0, what = '';"
             " for (const el of document.body.querySelectorAll('*')) {"
             "   const r = el.getBoundingClientRect();"
             "   if (r.width > 0 && r.right > widest) { widest = r.right; what = el.tagName + '.' + el.className; } }"
             " document.title = 'RIGHT=' + Math.ceil(widest) + ' ' + what; });</script></body>")
    page = tmp_path / "probe.html"
    page.write_text(html.replace("</body>", probe), encoding="utf-8")
    result = browser(binary, page, tmp_path / "profile", "--window-size=390,800", "--dump-dom")
    found = re.search(r"<title>RIGHT=(\d+) ([^<]*)</title>", result.stdout)
    assert found, result.stderr[-1000:]
    assert int(found.group(1)) <= 390, found.group(0)


def test_sparklines_start_at_zero_for_counts_and_percentages_and_label_the_range_otherwise():
    assert axis_range([24, 26], "count") == (0.0, 50.0)
    assert axis_range([48.7, 16.4], "percent") == (0.0, 50.0)
    assert axis_range([97.0, 99.5], "percent") == (0.0, 100.0)
    assert axis_range([-0.64, -0.44], "score") == (-0.64, -0.44)
    points = [TrendPoint("2023", 24, None, None), TrendPoint("2024", 26, None, None)]
    svg = str(trend_svg("t", "S11 Disputes", points, "count", 0, "Stockport"))
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert labels[:2] == ["50", "0"]  # the axis is stated
    ys = [float(y) for y in re.findall(r'points="[\d.]+,([\d.]+) [\d.]+,([\d.]+)"', svg)[0]]
    # 24 -> 26 on a zero-based axis moves the line by 4% of its height, not from bottom to top
    assert abs(ys[0] - ys[1]) < 0.1 * 32
    progress = str(trend_svg("p", "E5", [TrendPoint("2022", -0.44, None, None), TrendPoint("2023", -0.64, None, None)],
                             "score", 2, "Stockport"))
    assert "-0.44" in progress and "-0.64" in progress and "Axis from -0.64 to -0.44" in progress


def test_the_ratings_vocabulary_counts_not_rated_apart_from_context(demo_built, tmp_path_factory, demo_scorecard):
    warehouse = demo_built[0]
    rows = query(warehouse, "select kpi_id, polarity, rag_status from marts.fct_scorecard where la_code = ?",
                 [demo_la()])
    for row in rows:
        if row["rag_status"] == "Context":
            assert row["polarity"] == "Context", row
        if row["polarity"] == "Context" and row["rag_status"] != "No data":
            assert row["rag_status"] == "Context", row
    not_rated = sorted(r["kpi_id"] for r in rows if r["rag_status"] == "Not rated")
    assert {"S12", "S13", "L1", "L2"} <= set(not_rated)
    summary = query(warehouse, "select * from marts.fct_scorecard_summary where la_code = ?", [demo_la()])[0]
    assert f"{summary['n_not_rated']} not rated (no target and no benchmark)" in summary["summary_sentence"]
    assert f"{summary['n_context']} context." in summary["summary_sentence"]
    html = demo_scorecard.read_text(encoding="utf-8")
    assert "Contextual" not in html


def test_drilldown_and_data_quality_report_screenshots(demo_built, tmp_path_factory, demo_scorecard, tmp_path):
    """The drill-down page (bands, neighbours, source rows) and the data-quality report, at 1400 px and
    390 px, kept for a person to look at; the drill-down is what the scorecard's measures link to."""
    from pipelines.quality.report import write_report
    from pipelines.reports.scorecard import write_drilldown

    warehouse = demo_built[0]
    drill = write_drilldown(warehouse, demo_la(), out_dir=demo_scorecard.parent)
    html = drill.read_text(encoding="utf-8")
    assert f'href="{drill.name}#S5"' in demo_scorecard.read_text(encoding="utf-8")
    s5 = html.split('id="S5"')[1].split("</section>")[0]
    assert 'class="bands"' in s5 and "<polygon" in s5  # the quartile bands are drawn
    assert "Statistical neighbours" in s5 and s5.count("<tr>") >= 10
    assert "Where the" in s5 and "Used" in s5
    dq = write_report(warehouse, tmp_path / "data-quality.html")
    binary = chromium()
    for page in (drill, dq):
        for width in (1400, 390):
            shot = screenshot(binary, page, tmp_path / f"{page.stem}-{width}.png", width, 2200, tmp_path / "profile")
            assert png_size(shot) == (width, 2200) and shot.stat().st_size > 10_000
