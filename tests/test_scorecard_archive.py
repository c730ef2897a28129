"""The monthly archive: each refresh's reports kept under a dated folder, `report --period` for a
past month, and "what changed since last month" at the top of the scorecard."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import demo_la
from pipelines.reports.archive import archived, find_archive
from pipelines.reports.scorecard import archive_reports, build_report, write_reports
from tests.test_scorecard_report import Page

pytestmark = pytest.mark.slow

OCTOBER, NOVEMBER = dt.date(2026, 10, 31), dt.date(2026, 11, 30)


def next_month(warehouse) -> dict:
    """What a later refresh could bring, made on the marts directly: S5's published figure revised,
    its rating moved, a target set for S12, and a new release of the source behind S9."""
    con = duckdb.connect(str(warehouse))
    try:
        s5 = con.execute("""select period_key, value, rag_status from marts.fct_scorecard
            where la_code = ? and kpi_id = 'S5'""", [demo_la()]).fetchone()
        new_rag = "Green" if s5[2] != "Green" else "Red"
        con.execute("""update marts.fct_scorecard set value = value + 1.5, rag_status = ?,
            rag_reason = ? || ': changed for the test' where la_code = ? and kpi_id = 'S5'""",
                    [new_rag, new_rag, demo_la()])
        con.execute("""update marts.fct_kpi_benchmarks set value = value + 1.5
            where la_code = ? and kpi_id = 'S5' and period_key = ?""", [demo_la(), s5[0]])
        con.execute("update marts.fct_scorecard set target = 10 where la_code = ? and kpi_id = 'S12'", [demo_la()])
        con.execute("update marts.fct_scorecard set release = 'the-next-release' where la_code = ? and kpi_id = 'S9'",
                    [demo_la()])
    finally:
        con.close()
    return {"old_rag": s5[2], "new_rag": new_rag, "old_value": s5[1]}


@pytest.fixture(scope="module")
def months(demo_built, tmp_path_factory):
    """A copy of the demo warehouse refreshed twice: October's reports archived, then November's."""
    root = tmp_path_factory.mktemp("archive")
    warehouse = root / "send.duckdb"
    shutil.copyfile(demo_built[0], warehouse)
    october_files = write_reports(warehouse, demo_la())
    october_html = october_files[0].read_text(encoding="utf-8")
    archive_reports(warehouse, demo_la(), october_files, day=OCTOBER)
    change = next_month(warehouse)
    november_files = write_reports(warehouse, demo_la())
    archive_reports(warehouse, demo_la(), november_files, day=NOVEMBER)
    return {"warehouse": warehouse, "october_html": october_html, "november_html": november_files[0],
            "change": change}


def test_each_refresh_keeps_its_reports_under_a_dated_folder(months):
    warehouse = months["warehouse"]
    folders = archived(warehouse)
    assert [d for d, _ in folders] == [OCTOBER, NOVEMBER]
    for _, folder in folders:
        names = {p.name for p in folder.iterdir()}
        assert any(n.endswith(".html") for n in names) and any(n.endswith(".xlsx") for n in names)
        assert (folder / "data" / "fct_scorecard.parquet").exists()
    assert find_archive(warehouse, "2026-10") == folders[0][1]
    assert find_archive(warehouse, "2026-11-30") == folders[1][1]
    assert find_archive(warehouse, "2026-09") is None
    # the October folder still has October's page, though the published reports moved on
    october_page = next(folders[0][1].glob("*.html")).read_text(encoding="utf-8")
    assert october_page == months["october_html"]


def test_the_scorecard_opens_with_what_changed_since_last_month(months):
    html = months["november_html"].read_text(encoding="utf-8")
    page = Page(html)
    assert not page.errors
    change = months["change"]
    text = page.all_text
    assert "What changed since last month's report (2026-10-31)" in text
    assert f"S5 New EHC plans issued within 20 weeks, excluding exceptions (%): {change['old_rag']} to " \
           f"{change['new_rag']}" in text
    old = f"{change['old_value']:.1f}%"
    new = f"{change['old_value'] + 1.5:.1f}%"
    assert f"{old} revised to {new}" in text
    assert "S12: target none to 10" in text
    assert "the-next-release" in text
    # the section comes before the first scorecard table
    assert html.index("changes-heading") < html.index('<table class="scorecard">')


def test_report_period_regenerates_a_past_month_from_the_archive(months, monkeypatch):
    warehouse = months["warehouse"]
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = CliRunner().invoke(main, ["report", "--la", "stockport", "--period", "2026-10"])
    assert result.exit_code == 0, result.output
    html_path = next(p for p in result.output.split() if p.endswith(".html"))
    assert html_path.endswith("-archived-2026-10-31.html")
    regenerated = Page(open(html_path, encoding="utf-8").read())
    original = Page(months["october_html"])
    assert set(regenerated.cells_by_row) == set(original.cells_by_row)
    for row_id in original.cells_by_row:  # October's figures and ratings, not November's
        assert regenerated.cells_by_row[row_id] == original.cells_by_row[row_id], row_id
    assert "Regenerated from the monthly archive of 31 October 2026" in regenerated.all_text
    # November regenerated says what changed since October
    november = build_report(warehouse, "stockport", "2026-11-30")
    assert november.changes["since"] == "2026-10-31" and november.changes["rag"]


def test_an_unknown_period_names_what_is_held(months, monkeypatch):
    monkeypatch.setenv("SEND_WAREHOUSE", str(months["warehouse"]))
    result = CliRunner().invoke(main, ["report", "--la", "stockport", "--period", "2026-09"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "no scorecard for the period '2026-09'" in message
    assert "the monthly archive holds: 2026-10-31, 2026-11-30" in message and "Traceback" not in message
