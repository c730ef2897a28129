"""The dbt models of the local monthly KPIs reproduce pipelines/local_kpis.py on the demo extracts.

The demo (national files and the demo LA's local extracts) is generated into tmp, loaded with the
ingest and built with dbt once for the module. The dbt values (intermediate.int_kpi_values__local)
must equal the reference implementation's (local_kpis_from_warehouse) for every KPI, measure,
period type and month, and the scorecard must show the monthly values beside the published ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.dbt_runner import RunSummary, dbt_build
from tests.local_kpis_oracle import local_kpis_from_warehouse

pytestmark = pytest.mark.slow

DEMO_LA = "E08000007"
KEYS = ["kpi_id", "measure", "period_type", "month"]
COMPARED = ["period_start", "period_end", "numerator", "denominator", "value", "value_status", "unit"]
MONTHLY_ON_SCORECARD = ["S5", "S5_inc", "S6", "S9", "S10", "S11", "S12", "S13", "E7", "E8", "E9", "E10", "L1", "L2",
                        "P1", "P1_sens", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"]


@pytest.fixture(scope="module")
def built(demo_built) -> tuple[Path, RunSummary]:
    """The demo (with local extracts) loaded into a fresh warehouse and built with dbt (conftest, once
    per run; tests that change it work on a copy)."""
    return demo_built


@pytest.fixture(scope="module")
def con(built):
    connection = duckdb.connect(str(built[0]), read_only=True)
    yield connection
    connection.close()


def frame(con, sql: str, params=None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())


@pytest.fixture(scope="module")
def reference(con) -> pl.DataFrame:
    return local_kpis_from_warehouse(con)


@pytest.fixture(scope="module")
def from_dbt(con) -> pl.DataFrame:
    return frame(con, """
        select local_kpi_id as kpi_id, measure, month, period_type, period_start, period_end,
               cast(numerator as bigint) as numerator, cast(denominator as bigint) as denominator,
               value, value_status, unit
        from intermediate.int_kpi_values__local
        where source <> 'sen2_requests'""")  # the custom layout's rows (the SEN2 return's: test_sen2_* below)


def test_the_build_passes(built):
    _, summary = built
    assert summary.success and not summary.failed, summary.sentence()


def test_every_local_kpi_is_computed(reference, from_dbt):
    kpis = set(from_dbt["kpi_id"].unique())
    assert {"S5", "S6", "S9", "S10", "S11", "S12", "S13", "LEAD20", "E7", "E8", "E9", "E10", "L1", "L2",
            "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"} <= kpis
    assert set(from_dbt["period_type"].unique()) == {
        "month", "rolling_12_months", "academic_year_to_date", "month_end", "as_at"}
    assert reference.height > 1000


def test_dbt_values_equal_the_reference_implementation_row_for_row(reference, from_dbt):
    joined = reference.join(from_dbt, on=KEYS, how="full", suffix="_dbt", coalesce=True)
    only_reference = joined.filter(pl.col("unit_dbt").is_null())
    only_dbt = joined.filter(pl.col("unit").is_null())
    assert only_reference.is_empty(), only_reference.select(KEYS).head(10)
    assert only_dbt.is_empty(), only_dbt.select(KEYS).head(10)
    for column in COMPARED:
        differing = joined.filter(~pl.col(column).eq_missing(pl.col(f"{column}_dbt")))
        assert differing.is_empty(), (column, differing.select(KEYS + [column, f"{column}_dbt"]).head(10))


def test_twenty_week_measure_matches_for_the_latest_rolling_year(reference, from_dbt):
    # a spot check in words: the latest rolling 12 months of S5 excluding exceptions
    def latest(rows: pl.DataFrame) -> tuple:
        picked = rows.filter((pl.col("kpi_id") == "S5") & (pl.col("period_type") == "rolling_12_months")
                             & (pl.col("measure") == "pct_within_20_weeks_excl_exceptions")).sort("month").tail(1)
        return picked.select("month", "numerator", "denominator", "value").row(0)

    assert latest(reference) == latest(from_dbt)


def test_scorecard_shows_monthly_values_beside_the_published_ones(con):
    rows = frame(con, """
        select kpi_id, value, source, period_label, provisional_value, provisional_period_label,
               provisional_source, latest_value, latest_period_label, latest_value_basis, is_stale
        from marts.fct_scorecard where la_code = ?""", [DEMO_LA])
    by_kpi = {row["kpi_id"]: row for row in rows.to_dicts()}
    missing = [kpi for kpi in MONTHLY_ON_SCORECARD if by_kpi[kpi]["provisional_value"] is None]
    assert not missing, missing
    # S5: the published 2024 figure is still the rated value; the newer monthly rolling year is the latest
    s5 = by_kpi["S5"]
    assert s5["source"] == "ehcp_timeliness" and s5["period_label"] == "2024"
    assert s5["provisional_source"] == "sen2_requests"  # the demo LA's SEN2 return is the preferred casework
    assert s5["provisional_period_label"].startswith("12 months to ")
    assert s5["latest_value"] == s5["provisional_value"]
    assert s5["latest_value_basis"].startswith("provisional: the local figure for 12 months to ")
    # a KPI without any published figure shows the local value as its value
    for kpi, source in (("E7", "local_exclusions"), ("L1", "local_offer_visits"), ("L2", "local_training"),
                        ("P4", "local_post16_tracking")):
        assert by_kpi[kpi]["source"] == source and by_kpi[kpi]["value"] == by_kpi[kpi]["provisional_value"], kpi
        assert by_kpi[kpi]["latest_value_basis"].startswith("provisional: no figure has been published"), kpi
    # P1: the published calendar year 2025 covers the local months, so the published figure is the latest
    p1 = by_kpi["P1"]
    assert p1["latest_value"] == p1["value"]
    assert p1["latest_value_basis"].startswith("published: the published 2025 figure covers")
    assert not rows["is_stale"].any()


def test_scorecard_provisional_value_is_the_latest_scorecard_measure(con):
    latest = con.execute("""select value from intermediate.int_kpi_values__local
        where kpi_id = 'S6' and is_scorecard_measure order by period_end desc limit 1""").fetchall()[0][0]
    value = con.execute("select provisional_value from marts.fct_scorecard where la_code = ? and kpi_id = 'S6'",
                        [DEMO_LA]).fetchall()[0][0]
    assert value == latest


CASEWORK_ON_SCORECARD = {"S5": "R12", "S5_inc": "R12", "S6": "END", "S9": "R12", "S10": "R12", "S11": "R12",
                         "S12": "R12"}


def test_sen2_return_is_the_preferred_casework_source(con):
    """The demo LA has both a SEN2 return and a custom casework extract for the same months: the scorecard's
    casework figures are the SEN2 return's (int_sen2__monthly_kpis, DfE's definitions), the custom layout's
    rows stay beside them, not preferred, and S13 (not in SEN2's KPIs here) still comes from the custom layout."""
    rows = frame(con, "select kpi_id, provisional_value, provisional_source, provisional_period_key "
                      "from marts.fct_scorecard where la_code = ?", [DEMO_LA])
    by_kpi = {row["kpi_id"]: row for row in rows.to_dicts()}
    for kpi, prefix in CASEWORK_ON_SCORECARD.items():
        row = by_kpi[kpi]
        assert row["provisional_source"] == "sen2_requests", kpi
        period_type = "rolling_12_months" if prefix == "R12" else "month_end"
        sen2 = con.execute("""select value from intermediate.int_sen2__monthly_kpis
            where kpi_id = ? and period_type = ? and strftime(month, '%Y-%m') = ?""",
                           [kpi, period_type, row["provisional_period_key"].split("-", 1)[1]]).fetchall()
        assert sen2 and row["provisional_value"] == sen2[0][0], (kpi, row, sen2)
        custom = con.execute("""select is_preferred, is_scorecard_measure from intermediate.int_kpi_values__local
            where kpi_id = ? and period_key = ? and source = 'local_ehcp_casework'""",
                             [kpi, row["provisional_period_key"]]).fetchall()
        assert custom == [(False, False)], (kpi, custom)  # kept, not used
    assert by_kpi["S13"]["provisional_source"] == "local_ehcp_casework"
    # one preferred value per KPI, geography and period in the warehouse JSNA authors query
    doubled = con.execute("""select geo_level, geo_code, kpi_id, period_key, count(*) from marts.fct_kpi_values
        where is_preferred group by all having count(*) > 1 limit 5""").fetchall()
    assert doubled == []


def test_local_values_reach_fct_kpi_values_as_provisional(con):
    rows = con.execute("""
        select source_label, is_provisional, count(*) from marts.fct_kpi_values
        where geo_code = ? and kpi_id = 'S5' group by all order by all""", [DEMO_LA]).fetchall()
    labels = {r[0]: r for r in rows}
    assert labels["provisional / local"][1] is True and labels["provisional / local"][2] > 12
    assert labels["published / national"][1] is False


def test_reconciliation_shows_casework_and_published_calendar_years(con, reference):
    rows = frame(con, "select * from marts.fct_local_reconciliation where kpi_id = 'S5' and period_key = '2024' "
                      "and local_source <> 'sen2_return'")
    assert rows.height == 1
    row = rows.row(0, named=True)
    expected = reference.filter(
        (pl.col("kpi_id") == "S5") & (pl.col("measure") == "pct_within_20_weeks_excl_exceptions")
        & (pl.col("period_type") == "rolling_12_months") & (pl.col("period_end") == pl.date(2024, 12, 31)))
    assert row["local_value"] == expected["value"][0]
    published = con.execute("""select value from marts.fct_kpi_values
        where geo_code = ? and kpi_id = 'S5' and period_key = '2024' and is_preferred""", [DEMO_LA]).fetchall()[0][0]
    assert row["published_value"] == published
    assert row["difference"] == round(row["local_value"] - published, 1)
    assert row["scorecard_uses"] == "published"
    assert row["note"].endswith("The scorecard uses the published figure.")


def test_the_demo_sen2_return_reconciles_exactly_with_the_published_figures(con):
    """The demo writes the demo LA's SEN2 XML from its published figures: every year present in both agrees."""
    rows = frame(con, "select * from marts.fct_local_reconciliation where local_source = 'sen2_return'")
    kpis = set(rows["kpi_id"])
    assert {"S5", "S5_inc", "S6", "S9", "S10", "S11", "S12"} <= kpis
    assert rows.filter(pl.col("kpi_id") == "S6")["period_key"].to_list() == [f"JAN{y}" for y in range(2019, 2026)] or \
        sorted(rows.filter(pl.col("kpi_id") == "S6")["period_key"].to_list()) == [f"JAN{y}" for y in range(2019, 2026)]
    compared = rows.filter(pl.col("published_value").is_not_null())
    assert compared.height == 4 * 6 + 7 + 2 + 2  # S5, S5_inc, S9, S10 2019-24; S6 Jan 2019-25; S11, S12 2023-24
    assert compared["difference"].to_list() == [0.0] * compared.height
    assert set(compared["reason"]) == {"agrees with the published figure"}


def test_leading_indicator_counts_and_the_restricted_list(con, reference):
    counts = frame(con, "select * from marts.fct_open_requests_20_weeks order by month")
    lead = reference.filter(pl.col("kpi_id") == "LEAD20").pivot(on="measure", index="month", values="numerator")
    assert counts["month"].to_list() == lead.sort("month")["month"].to_list()
    for measure in ("open_requests", "open_past_20_weeks", "open_passing_20_weeks_within_4_weeks"):
        assert counts[measure].to_list() == lead.sort("month")[measure].to_list(), measure
    latest = counts.tail(1).row(0, named=True)
    listed = dict(con.execute(
        "select status, count(*) from casework_restricted.open_requests_past_20_weeks group by status").fetchall())
    assert listed.get("past 20 weeks", 0) == latest["open_past_20_weeks"] > 0
    assert listed.get("passes 20 weeks within 4 weeks", 0) == latest["open_passing_20_weeks_within_4_weeks"]
    assert con.execute("""select count(*) from casework_restricted.open_requests_past_20_weeks
        where length(request_key) <> 64 or length(person_key) <> 64""").fetchall()[0][0] == 0


def test_a_quarantined_file_marks_the_kpis_built_from_its_source_stale(built, tmp_path):
    warehouse = tmp_path / "send.duckdb"
    shutil.copyfile(built[0], warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("""insert into meta.file_loads values ('ehcp_timeliness', 'timeliness_20_week.csv', 'abc', null,
            14, 'quarantined', 'timeliness_20_week.csv was quarantined: 14 rows have a percentage above 100.',
            now()::timestamp + interval 1 day)""").fetchall()
    finally:
        con.close()
    summary = dbt_build(warehouse, select="int_source_health+")
    assert summary.success, summary.sentence()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = dict(con.execute("select kpi_id, quality_note from marts.fct_scorecard where la_code = ? and is_stale",
                                [DEMO_LA]).fetchall())
    finally:
        con.close()
    assert set(rows) == {"S5", "S5_inc", "S9"}  # the KPIs kpi_source_measures.csv builds from ehcp_timeliness
    assert rows["S5"].startswith("Stale: the latest timeliness_20_week.csv was quarantined "
                                 "(14 rows have a percentage above 100); showing the last good data (")
