"""The statutory numbers are the oracle: the demo LA's SEN2 XML, read, loaded and aggregated by the dbt
models with DfE's definitions, gives back exactly the figures the demo's EHC plans release publishes
for that LA (S5, S5_inc, S9, S10, S11, S12 by calendar year; S6 at each January census)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.dbt_runner import dbt_build

pytestmark = pytest.mark.slow

DEMO_LA_NUMBER = "356"
EXTRACT = dt.date(2025, 6, 30)
PUBLISHED = {  # KPI -> (raw table, numerator measure, denominator measure, percent measure)
    "S5": ("ehcp_timeliness", "plans_issued_20_weeks_ex", "plans_issued_den_ex", "pc_plans_issued_20_weeks_ex"),
    "S5_inc": ("ehcp_timeliness", "plans_issued_within_20_weeks", "plans_issued_den",
               "pc_plans_issued_within_20_weeks"),
    "S9": ("ehcp_timeliness", "plans_issued_den", None, None),
    "S10": ("ehcp_requests", "requests_received_in_year", None, None),
    "S11": ("ehcp_requests", "mediation_related_request", None, None),
    "S12": ("ehcp_requests", "tribunal_related_request", None, None),
    "S6": ("ehcp_caseload", "ehcplans", None, None),
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The demo's EHC plans release and LA lookup, and the demo LA's SEN2 XML, loaded and built (SEN2 models)."""
    from demo import ehcp, geography, reference
    from demo.sen2 import write_demo_return
    from demo.world import World
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    root = tmp_path_factory.mktemp("sen2_models")
    raw = root / "raw"
    world = World(20241, first_year=geography.extended_years(2016, 2025, 1)[0] - 1)
    lookup = reference.write_la_lookup(raw)
    release = ehcp.write_release(world, raw, 1)
    xml = write_demo_return(raw, release, DEMO_LA_NUMBER, EXTRACT, seed=20241)
    path = root / "send.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEND_PSEUDONYM_KEY", "test-key-for-the-sen2-models")
        patch.setenv("SEND_SCORECARD_LA", "E08000007")
        con = connect_warehouse(path)
        try:
            results = ingest_paths(con, [lookup, release, xml])
        finally:
            con.close()
    assert [r.status for r in results] == ["loaded"] * len(results), [r.message for r in results]
    with pytest.MonkeyPatch.context() as patch:
        # only the tests whose every parent is built here (the seeds' relationship tests reach the catalogue)
        patch.setenv("DBT_INDIRECT_SELECTION", "buildable")
        summary = dbt_build(path, select="+fct_sen2_kpis")
    assert summary.success
    return path


@pytest.fixture(scope="module")
def con(warehouse):
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def published(con, table: str, measure: str) -> dict[int, float]:
    rows = con.execute(f"""
        select time_period, value from raw.{table}
        where old_la_code = ? and geographic_level = 'Local authority' and measure = ?
          and breakdown_topic = breakdown and value is not null""", [DEMO_LA_NUMBER, measure]).fetchall()
    # January snapshots are academic years ('202425' = January 2025)
    return {int(p[:4]) + (1 if len(p) == 6 else 0): v for p, v in rows}


def ours(con, kpi: str) -> dict[int, tuple]:
    return {int(k): (n, d, v) for k, n, d, v in con.execute(
        "select period_key, numerator, denominator, value from intermediate.int_sen2__annual_kpis where kpi_id = ?",
        [kpi]).fetchall()}


@pytest.mark.parametrize("kpi", list(PUBLISHED))
def test_the_sen2_return_gives_back_the_published_figures_exactly(con, kpi):
    table, numerator, denominator, percent = PUBLISHED[kpi]
    expected_numerators = published(con, table, numerator)
    assert len(expected_numerators) >= 2, f"the demo publishes {kpi} for the demo LA"
    mine = ours(con, kpi)
    for year, value in expected_numerators.items():
        assert year in mine, f"{kpi} {year} missing from the SEN2 figures"
        assert mine[year][0] == value, (kpi, year, mine[year], value)
    if denominator:
        for year, value in published(con, table, denominator).items():
            assert mine[year][1] == value, (kpi, year)
        for year, value in published(con, table, percent).items():
            assert mine[year][2] == pytest.approx(value, abs=0.05), (kpi, year)


def test_years_the_return_does_not_cover_are_not_reported(con):
    years = {int(k) for (k,) in con.execute(
        "select distinct period_key from intermediate.int_sen2__annual_kpis where kpi_id = 'S10'").fetchall()}
    assert max(years) == EXTRACT.year - 1  # 2025 is not complete at the extract date
    s6 = ours(con, "S6")
    assert max(s6) == EXTRACT.year  # the January 2025 census is before the extract date


def test_reviews_and_phase_transfers_are_shares_of_the_plans_due(con):
    for kpi in ("S14", "S15"):
        rows = ours(con, kpi)
        assert list(rows) == [EXTRACT.year]
        numerator, denominator, value = rows[EXTRACT.year]
        assert 0 < numerator <= denominator and value == pytest.approx(100 * numerator / denominator, abs=0.05)


def test_validation_counts_and_restricted_list(con):
    summary = dict(con.execute("select rule, records from dq.sen2_validation_summary").fetchall())
    assert len(summary) == 9 and all(n == 0 for n in summary.values())  # the demo return is clean
    tables = {t for (t,) in con.execute(
        "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
    assert "raw.sen2_requests" in tables and "raw.sen2_returns" in tables


def test_rolling_twelve_months_to_december_equal_the_calendar_years(con):
    annual = {(k, p): (n, d) for k, p, n, d in con.execute(
        "select kpi_id, period_key, numerator, denominator from intermediate.int_sen2__annual_kpis "
        "where period_type = 'calendar_year'").fetchall()}
    rolling = {(k, str(m.year)): (n, d) for k, m, n, d in con.execute(
        "select kpi_id, month, numerator, denominator from intermediate.int_sen2__monthly_kpis "
        "where period_type = 'rolling_12_months' and extract(month from month) = 12").fetchall()}
    shared = set(annual) & set(rolling)
    assert {k for k, _ in shared} >= {"S5", "S5_inc", "S9", "S10", "S11", "S12"}
    assert all(annual[key] == rolling[key] for key in shared), [k for k in shared if annual[k] != rolling[k]]
    months = con.execute("select count(*), max(period_end) from intermediate.int_sen2__monthly_kpis "
                         "where kpi_id = 'S6' and period_type = 'month_end'").fetchall()[0]
    assert months[1] == EXTRACT and months[0] > 100
    mart = con.execute("select count(*), count(distinct la_code), min(la_code) from marts.fct_sen2_kpis").fetchall()[0]
    assert mart[0] > 0 and mart[1] == 1 and mart[2] == "E08000007"
