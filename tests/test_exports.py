"""JSNA exports: tidy rows, the filters, suppression unless both flags are given, and round trips."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.errors import SendScorecardError
from pipelines.reports.export import EXPORT_SCHEMA, export_kpis, parse_years, read_export, write_export
from tests.test_scorecard_report import query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def demo_warehouse(demo_built) -> Path:
    return demo_built[0]  # conftest: built once per run


@pytest.fixture(scope="module")
def s5_s4_stockport(demo_warehouse) -> pl.DataFrame:
    return export_kpis(demo_warehouse, ["S5", "S4"], ["stockport"], ["la", "region", "england"], "2019-2024",
                       include_small_numbers=False)


def test_one_tidy_row_per_geography_kpi_and_period(s5_s4_stockport):
    frame = s5_s4_stockport
    assert frame.columns == list(EXPORT_SCHEMA)
    assert frame.select("geography_level", "geography_code", "kpi_id", "period_key").is_duplicated().sum() == 0
    assert set(frame["kpi_id"]) == {"S5", "S4"}
    assert set(frame["geography_level"]) == {"la", "region", "england"}
    assert set(frame.filter(pl.col("geography_level") == "la")["geography_code"]) == {"E08000007"}
    assert set(frame.filter(pl.col("geography_level") == "region")["geography_name"]) == {"North West"}
    assert set(frame.filter(pl.col("geography_level") == "england")["geography_code"]) == {"E92000001"}
    years = frame["period_end"].dt.year()
    assert years.min() >= 2019 and years.max() <= 2024
    assert frame["source"].null_count() == 0 and frame["release"].null_count() == 0


def test_values_are_the_warehouse_values(demo_warehouse, s5_s4_stockport):
    expected = query(demo_warehouse, """select period_key, value from marts.fct_kpi_values
        where kpi_id = 'S5' and geo_code = 'E08000007' and is_preferred""")
    expected = {r["period_key"]: r["value"] for r in expected}
    got = s5_s4_stockport.filter((pl.col("kpi_id") == "S5") & (pl.col("geography_level") == "la"))
    for row in got.iter_rows(named=True):
        assert row["value"] == expected[row["period_key"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_round_trip_keeps_values_and_statuses(demo_warehouse, tmp_path, fmt):
    frame = export_kpis(demo_warehouse, ["S5", "S12", "E3"], [], ["la", "region", "england"], "2022-2024",
                        include_small_numbers=False)
    assert frame.height > 300 and frame["value"].null_count() > 0  # statuses other than ok travel too
    path = write_export(frame, tmp_path / f"jsna.{fmt}")
    back = read_export(path)
    assert back.schema == frame.schema
    assert back["value_status"].to_list() == frame["value_status"].to_list()
    assert back["value"].to_list() == frame["value"].to_list()
    assert back.equals(frame)


def test_small_numbers_are_suppressed_unless_asked_for(demo_warehouse, monkeypatch):
    monkeypatch.setenv("SEND_SUPPRESSION_THRESHOLD", "5")
    open_rows = export_kpis(demo_warehouse, ["S12", "S11"], [], ["la"], "2020-2024", include_small_numbers=True)
    published = export_kpis(demo_warehouse, ["S12", "S11"], [], ["la"], "2020-2024", include_small_numbers=False)
    small = open_rows.filter((pl.col("value") >= 1) & (pl.col("value") <= 5))
    assert small.height > 0, "the demo data should hold some small counts"
    joined = small.join(published, on=["geography_code", "kpi_id", "period_key"], suffix="_published")
    assert joined["value_published"].null_count() == joined.height
    assert set(joined["value_status_published"]) == {"suppressed"}
    zero_or_large = open_rows.filter((pl.col("value") == 0) | (pl.col("value") > 5))
    kept = zero_or_large.join(published, on=["geography_code", "kpi_id", "period_key"], suffix="_published")
    assert (kept["value"] == kept["value_published"]).all()


def test_the_cli_needs_both_flags_to_keep_small_numbers(demo_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_WAREHOUSE", str(demo_warehouse))
    runner = CliRunner()
    help_text = " ".join(runner.invoke(main, ["export", "--help"]).output.split())
    assert "unless BOTH --include-small-numbers and --i-have-local-data-rights" in help_text
    only_one = runner.invoke(main, ["export", "--kpi", "S12", "--output", str(tmp_path / "x.csv"),
                                    "--include-small-numbers"])
    assert only_one.exit_code == 1 and "--i-have-local-data-rights" in only_one.output
    assert not (tmp_path / "x.csv").exists()
    args = ["export", "--kpi", "S12", "--kpi", "S11", "--geography", "la", "--years", "2020-2024"]
    suppressed = runner.invoke(main, [*args, "--output", str(tmp_path / "pub.parquet")])
    assert suppressed.exit_code == 0, suppressed.output
    both = runner.invoke(main, [*args, "--output", str(tmp_path / "open.parquet"), "--include-small-numbers",
                                "--i-have-local-data-rights"])
    assert both.exit_code == 0, both.output
    published, unsuppressed = pl.read_parquet(tmp_path / "pub.parquet"), pl.read_parquet(tmp_path / "open.parquet")
    assert published.height == unsuppressed.height
    assert (published["value_status"] == "suppressed").sum() > (unsuppressed["value_status"] == "suppressed").sum()


def test_cli_writes_xlsx_with_an_about_sheet_and_names_by_code_number_or_name(demo_warehouse, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    monkeypatch.setenv("SEND_WAREHOUSE", str(demo_warehouse))
    out = tmp_path / "s5.xlsx"
    result = CliRunner().invoke(main, ["export", "--kpi", "s5", "--la", "Stockport", "--la", "E08000003",
                                       "--geography", "la", "--years", "2023,2024", "--output", str(out)])
    assert result.exit_code == 0, result.output
    frame = read_export(out)
    assert set(frame["geography_name"]) == {"Stockport", "Manchester"}
    assert set(frame["period_key"]) == {"2023", "2024"}
    wb = load_workbook(out)
    assert wb.sheetnames == ["Data", "About"]
    assert any("suppressed" in (c.value or "") for c in wb["About"]["A"])
    value_column = [c.value for c in wb["Data"][1]].index("value")
    assert all(isinstance(r[value_column].value, float | int | type(None)) for r in wb["Data"].iter_rows(min_row=2))


def test_bad_requests_are_one_sentence(demo_warehouse):
    with pytest.raises(SendScorecardError, match="Unknown KPI id"):
        export_kpis(demo_warehouse, ["S99"])
    with pytest.raises(SendScorecardError, match="No local authority matches 'Stokport'"):
        export_kpis(demo_warehouse, ["S5"], ["Stokport"])
    with pytest.raises(SendScorecardError, match="Unknown geography"):
        export_kpis(demo_warehouse, ["S5"], [], ["ward"])


def test_years_are_ranges_or_lists():
    assert parse_years("2019-2021") == [2019, 2020, 2021]
    assert parse_years("2019,2021") == [2019, 2021]
    assert parse_years("2019-2020, 2023") == [2019, 2020, 2023]
    assert parse_years(None) is None
    with pytest.raises(SendScorecardError, match="not understood"):
        parse_years("last year")
    with pytest.raises(SendScorecardError, match="backwards"):
        parse_years("2024-2019")


def test_the_documentation_site_is_generated_from_a_copy(demo_warehouse, tmp_path):
    from pipelines.reports.docs import build_docs

    before = demo_warehouse.stat().st_mtime_ns
    page = build_docs(tmp_path / "docs", demo_warehouse)
    assert page.exists() and page.stat().st_size > 100_000
    assert (tmp_path / "docs" / "catalog.json").exists() and (tmp_path / "docs" / "manifest.json").exists()
    catalog = (tmp_path / "docs" / "catalog.json").read_text()
    assert "fct_scorecard" in catalog and "rag_reason" in catalog
    assert demo_warehouse.stat().st_mtime_ns == before


def test_provisional_local_figures_only_on_request(demo_warehouse):
    published = export_kpis(demo_warehouse, ["L1", "S5"], ["E08000007"], ["la"])
    assert "month" not in set(published["period_type"].drop_nulls())
    with_local = export_kpis(demo_warehouse, ["L1", "S5"], ["E08000007"], ["la"], include_provisional=True)
    monthly = with_local.filter(pl.col("period_type") == "month")
    assert monthly.height > 0 and set(monthly["kpi_id"]) >= {"L1"}
    assert monthly["release"].null_count() == 0
