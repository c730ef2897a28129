"""The LA's scorecard settings file: priority, theme, owner and commentary per KPI and month."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipelines.cli import main
from pipelines.config import demo_la
from pipelines.ingest.rawfile import is_data_file
from pipelines.reports.scorecard import build_report, render_html
from pipelines.reports.settings import SettingsError, read_settings, settings_for, write_template
from pipelines.reports.workbook import write_workbook
from tests.test_scorecard_report import Page

KPIS = {"S5", "S12", "E2"}


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["kpi_id", "title", "priority", "theme", "owner", "period",
                                                    "figure", "commentary"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_commentary_is_carried_into_later_months_until_replaced(tmp_path):
    path = write_csv(tmp_path / "scorecard_settings.csv", [
        {"kpi_id": "S5", "priority": "High", "owner": "Head of SEND", "period": "2026-10", "figure": "15.0%",
         "commentary": "October's comment"},
        {"kpi_id": "s12", "theme": "Resolving disagreements", "period": "2026-10"},
        {"kpi_id": "S5", "period": "2026-12", "figure": "16.4%", "commentary": "December's comment"},
    ])
    rows = read_settings(path, KPIS)
    november = settings_for(rows, "2026-11")
    assert november["S5"].commentary == "October's comment" and november["S5"].period == "2026-10"
    assert november["S5"].priority == "High" and november["S12"].theme == "Resolving disagreements"
    december = settings_for(rows, "2026-12")
    assert december["S5"].commentary == "December's comment" and december["S5"].owner == "Head of SEND"
    assert settings_for(rows, "2026-09") == {}


@pytest.mark.parametrize(("row", "where"), [
    ({"kpi_id": "S99", "period": "2026-11"}, "row 2, column kpi_id: 'S99' is not a KPI of the catalogue"),
    ({"kpi_id": "S5", "period": "November"}, "row 2, column period: write the board month as 2026-11"),
    ({"kpi_id": "", "period": "2026-11", "owner": "x"}, "row 2, column kpi_id: the KPI id is empty"),
])
def test_a_wrong_row_is_named_by_file_row_and_column(tmp_path, row, where):
    path = write_csv(tmp_path / "scorecard_settings.csv", [row])
    with pytest.raises(SettingsError) as caught:
        read_settings(path, KPIS)
    assert str(caught.value).startswith(f"scorecard_settings.csv, {where}")


def test_the_loaders_leave_the_settings_file_alone():
    assert not is_data_file(Path("raw/scorecard_settings.csv"))
    assert not is_data_file(Path("raw/scorecard_settings.xlsx"))
    assert is_data_file(Path("raw/ehcp_casework_2025-06-30.csv"))


@pytest.mark.slow
def test_the_scorecard_shows_priorities_themes_owners_and_marked_commentary(demo_built, tmp_path_factory, tmp_path, monkeypatch):
    warehouse = demo_built[0]
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SEND_RAW", str(tmp_path))
    # the template command: every KPI, this month's figures
    result = CliRunner().invoke(main, ["settings-template", "--la", "stockport"])
    assert result.exit_code == 0, result.output
    template = list(csv.DictReader((tmp_path / "scorecard_settings.csv").open(encoding="utf-8")))
    plain = build_report(warehouse, demo_la())
    assert [r["kpi_id"] for r in template] == [r["kpi_id"] for r in plain.rows]
    month = template[0]["period"]
    s5 = next(r for r in template if r["kpi_id"] == "S5")
    assert s5["figure"] == next(r for r in plain.rows if r["kpi_id"] == "S5")["value_text"]
    # filled in: a theme for the S family, an old S5 comment about another figure, a formula-looking E2 comment
    for row in template:
        row["theme"] = "Timely assessment" if row["kpi_id"].startswith("S") else ""
        row["owner"] = "Head of SEND" if row["kpi_id"] == "S5" else ""
        row["priority"] = "High" if row["kpi_id"] == "S5" else ""
    s5_now = s5["figure"]
    s5.update(figure="99.9%", commentary="Two more coordinators from January.")
    e2 = next(r for r in template if r["kpi_id"] == "E2")
    e2["commentary"] = '=HYPERLINK("x")'
    write_csv(tmp_path / "scorecard_settings.csv", template)

    report = build_report(warehouse, demo_la())
    page = Page(render_html(report))
    assert not page.errors
    text = page.all_text
    assert f"Commentary on S5 (Head of SEND, written for {report.as_of:%B %Y})" in text
    assert f"The figure has changed since this comment was written (then 99.9%, now {s5_now})." in text
    assert "priority: High; owner: Head of SEND" in text
    headings = [f["heading"] for f in report.families]
    assert headings[0] == "Timely assessment" and headings[-1] == "Other measures"
    assert month == report.as_of.strftime("%Y-%m")
    ws = load_workbook(write_workbook(report, tmp_path / "scorecard.xlsx"))["E"]
    header = [c.value for c in ws[1]]
    e2_row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "E2")
    comment = e2_row[header.index("Commentary")]
    assert comment.data_type == "s" and "=HYPERLINK" in comment.value  # text, not a live formula

    # a broken file: the scorecard is still written, and says why the settings were not used
    write_csv(tmp_path / "scorecard_settings.csv", [{"kpi_id": "S5", "period": "soon"}])
    broken = build_report(warehouse, demo_la())
    assert broken.settings_note == ("The scorecard settings were not used: scorecard_settings.csv, row 2, column "
                                    "period: write the board month as 2026-11.")
    assert broken.settings_note in Page(render_html(broken)).all_text


def test_the_template_can_be_excel(tmp_path):
    rows = [{"kpi_id": "S5", "title": "Timeliness", "value_text": "16.4%"},
            {"kpi_id": "E2", "title": "Progress", "value_text": "-0.64"}]
    for name in ("scorecard_settings.xlsx", "scorecard_settings.csv"):
        path = write_template(tmp_path / name, rows, "2026-12", {})
        read = read_settings(path, KPIS)
        assert [r["figure"] for r in read] == ["16.4%", "-0.64"]  # written safe from formulas, read back as shown
    ws = load_workbook(tmp_path / "scorecard_settings.xlsx").active
    assert [c.value for c in ws[1]][:2] == ["kpi_id", "title"] and ws["G3"].data_type == "s"
