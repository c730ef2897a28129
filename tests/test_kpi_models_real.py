"""The dbt models reproduce published figures and LAIT's benchmark method on the real DfE data.

The warehouse is the real files of ../shared/data loaded by the ingest (conftest's real_warehouse),
copied into tmp and built with dbt once for the module; the tests skip when the data is absent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.dbt_runner import RunSummary, dbt_build

pytestmark = [pytest.mark.real_data, pytest.mark.slow, pytest.mark.run_first]

STOCKPORT = "E08000007"
NORTH_WEST = "E12000002"
ENGLAND = "E92000001"


@pytest.fixture(scope="module")
def built(real_built) -> tuple[Path, RunSummary]:
    """The real raw warehouse, copied and built with dbt (conftest, once per run)."""
    return real_built


@pytest.fixture(scope="module")
def con(built):
    connection = duckdb.connect(str(built[0]), read_only=True)
    yield connection
    connection.close()


def one(con, sql: str, params=None):
    rows = con.execute(sql, params or []).fetchall()
    assert len(rows) == 1, rows
    return rows[0] if len(rows[0]) > 1 else rows[0][0]


def query_frame(con, sql: str, params=None) -> pl.DataFrame:
    return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())


def preferred_value(con, kpi: str, geo_code: str, period: str) -> float:
    return one(con, """select value from marts.fct_kpi_values
        where kpi_id = ? and geo_code = ? and period_key = ? and is_preferred""", [kpi, geo_code, period])


def test_the_build_passes_on_the_real_data(built):
    _, summary = built
    assert summary.success and not summary.failed, summary.sentence()


@pytest.mark.parametrize(("kpi", "expected"), [("S5_inc", 45.9), ("S5", 46.4)])
def test_england_2024_new_plans_within_20_weeks(con, kpi, expected):
    assert preferred_value(con, kpi, ENGLAND, "2024") == expected


@pytest.mark.parametrize(("period", "expected"), [("2024", 7.8), ("2023", 9.9)])
def test_stockport_new_plans_within_20_weeks_excluding_exceptions(con, period, expected):
    assert preferred_value(con, "S5", STOCKPORT, period) == expected


def test_s5_is_recomputed_from_the_published_numerator_and_denominator(con):
    value, numerator, denominator, source, recomputed = one(con, """select value, numerator, denominator, source,
        is_recomputed from marts.fct_kpi_values where kpi_id = 'S5' and geo_code = ? and period_key = '2024'
        and is_preferred""", [STOCKPORT])
    assert (source, recomputed, numerator, denominator) == ("ehcp_timeliness", True, 45, 574)
    assert value == round(100 * numerator / denominator, 1)


def test_s5_runs_from_2014_with_the_newest_release_winning_where_editions_overlap(con):
    rows = con.execute("""select period_key, value, numerator, denominator, release from marts.fct_kpi_values
        where kpi_id = 'S5' and geo_code = ? and is_preferred order by period_key""", [STOCKPORT]).fetchall()
    assert [r[0] for r in rows] == [str(y) for y in range(2014, 2025)]
    releases = {r[0]: r[4] for r in rows}
    assert {releases[str(y)] for y in range(2014, 2019)} == {"ehcp-plans-2023/sen2_mi"}
    assert {releases[str(y)] for y in range(2019, 2025)} == {"education-health-and-care-plans_2025"}
    for period, value, numerator, denominator, release in rows:
        raw = one(con, f"""select sum(value) filter (measure = 'plans_issued_20_weeks_ex'),
            sum(value) filter (measure = 'plans_issued_den_ex') from raw.{
            'ehcp_timeliness' if release.endswith('2025') else 'ehcp_main_table'}
            where release = ? and time_period = ? and new_la_code = ? and breakdown_topic = 'All EHC plans issued'""",
                  [release, period, STOCKPORT])
        assert (numerator, denominator) == raw
        assert value == round(100 * numerator / denominator, 1)


ISLES_OF_SCILLY = "E06000053"
EDITION_2019, EDITION_2023, RELEASE_2025 = (
    "ehcp-plans-2019/SEN2_MI", "ehcp-plans-2023/sen2_mi", "education-health-and-care-plans_2025")


def test_revisions_show_where_dfe_changed_a_figure(con):
    # the Isles of Scilly's 2022 20-week rate: 0% (0 of 0 plans) in the 2023 edition, 'x' in the 2025 release
    first, first_value, now, now_value, now_status, revised = one(con, """select first_release, first_value,
        current_release, current_value, current_value_status, is_revised from marts.fct_kpi_revisions
        where kpi_id = 'S5' and geo_code = ? and period_key = '2022' and source = 'ehcp_timeliness'""",
                                                                   [ISLES_OF_SCILLY])
    assert (first, first_value, now, now_value, now_status, revised) == (
        EDITION_2023, 0.0, RELEASE_2025, None, "unavailable", True)
    # England's mediation counts for 2014-2018: published in the 2019 edition, withdrawn in the 2023 one
    raw = dict(con.execute("""select time_period, value from raw.ehcp_main_table where release = ?
        and geographic_level = 'National' and measure = 'mediation_related_request'""", [EDITION_2019]).fetchall())
    rows = con.execute("""select period_key, first_release, first_value, current_release, current_value, is_revised
        from marts.fct_kpi_revisions where kpi_id = 'S11' and geo_code = ? and period_key between '2014' and '2018'
        order by period_key""", [ENGLAND]).fetchall()
    assert rows == [(str(y), EDITION_2019, raw[str(y)], EDITION_2023, None, True) for y in range(2014, 2019)]
    assert all(raw[str(y)] > 0 for y in range(2015, 2019))
    # Stockport's S5: every year in two editions except 2023-2024, never revised, first as the older edition had it
    rows = con.execute("""select period_key, first_release, current_release, n_releases, is_revised, change_since_first
        from marts.fct_kpi_revisions where kpi_id = 'S5' and geo_code = ? and source = 'ehcp_timeliness'
        order by period_key""", [STOCKPORT]).fetchall()
    assert rows == ([(str(y), EDITION_2019, EDITION_2023, 2, False, 0.0) for y in range(2014, 2019)]
                    + [(str(y), EDITION_2023, RELEASE_2025, 2, False, 0.0) for y in range(2019, 2023)]
                    + [(str(y), RELEASE_2025, RELEASE_2025, 1, False, 0.0) for y in range(2023, 2025)])
    numerator, denominator = one(con, """select sum(value) filter (measure = 'plans_issued_20_weeks_ex'),
        sum(value) filter (measure = 'plans_issued_den_ex') from raw.ehcp_main_table where release = ?
        and time_period = '2014' and new_la_code = ? and breakdown_topic = 'All EHC plans issued'""",
                                 [EDITION_2019, STOCKPORT])
    first_value = one(con, """select first_value from marts.fct_kpi_revisions where kpi_id = 'S5' and geo_code = ?
        and period_key = '2014' and source = 'ehcp_timeliness'""", [STOCKPORT])
    assert first_value == round(100 * numerator / denominator, 1)


def test_revisions_value_now_is_the_value_the_marts_use(con):
    differing = con.execute("""select r.kpi_id, r.source, r.geo_code, r.period_key, r.current_value, v.value
        from marts.fct_kpi_revisions as r
        full join (select * from marts.fct_kpi_values where not is_provisional) as v
            on r.kpi_id = v.kpi_id and r.source = v.source and r.geo_level = v.geo_level
            and r.geo_code = v.geo_code and r.period_key = v.period_key
        where r.kpi_id is null or v.kpi_id is null or r.current_value is distinct from v.value
            or r.current_release <> v.release or r.current_value_status <> v.value_status
        limit 5""").fetchall()
    assert differing == []
    counts = dict(con.execute("""select kpi_id, count(*) filter (where is_revised) from marts.fct_kpi_revisions
        group by 1""").fetchall())
    assert counts["S5"] >= 1 and counts["S11"] >= 5 and counts["S1"] == 0


def test_stockport_2024_benchmarks_are_the_published_region_and_england(con):
    value, region, england, previous = one(con, """select value, region_value, england_value, previous_value
        from marts.fct_kpi_benchmarks where la_code = ? and kpi_id = 'S5' and period_key = '2024'""", [STOCKPORT])
    assert (value, region, england, previous) == (7.8, 50.5, 46.4, 9.9)
    assert preferred_value(con, "S5", NORTH_WEST, "2024") == 50.5


def test_both_sources_of_a_kpi_are_kept_and_one_preferred(con):
    rows = con.execute("""select source, is_preferred, value from marts.fct_kpi_values
        where kpi_id = 'S5' and geo_code = ? and period_key = '2024' order by source""", [STOCKPORT]).fetchall()
    assert rows == [("ehcp_timeliness", True, 7.8), ("lait_indicators", False, 7.8)]


def test_stockport_scorecard_s5_is_red_and_declining_against_north_west_and_england(con):
    value, rag, direction, reason, period = one(con, """select value, rag_status, direction_of_travel, rag_reason,
        period_key from marts.fct_scorecard where la_code = ? and kpi_id = 'S5'""", [STOCKPORT])
    assert (value, rag, direction, period) == (7.8, "Red", "declining", "2024")
    assert reason == "Red: 7.8% is below both the North West figure (50.5%) and England (46.4%)"


def test_stockport_board_summary_sentence(con):
    sentence = one(con, "select summary_sentence from marts.fct_scorecard_summary where la_code = ?", [STOCKPORT])
    assert re.fullmatch(
        r"\d+ measures? with data available & updated for this report: \d+ Green( \([^)]*\))?, \d+ Red( \([^)]*\))?, "
        r"\d+ Amber; \d+ not rated \(no target and no benchmark\), \d+ context\. \d+ measures? to be further defined, or where data will be supplied soon\.",
        sentence), sentence


def test_a_target_of_60_percent_keeps_s5_red_and_names_the_target(built, tmp_path):
    warehouse = tmp_path / "with_target.duckdb"
    shutil.copyfile(built[0], warehouse)
    dbt_build(warehouse, select="int_kpi_targets+", vars={
        "scorecard_la": STOCKPORT,
        "kpi_target_overrides": [{"la_code": STOCKPORT, "kpi_id": "S5", "from_period": "2024", "target": 60}],
    })
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        rag, reason, target = one(connection, """select rag_status, rag_reason, target from marts.fct_scorecard
            where la_code = ? and kpi_id = 'S5'""", [STOCKPORT])
        n_las = one(connection, "select count(distinct la_code) from marts.fct_scorecard")
    finally:
        connection.close()
    assert (rag, target, n_las) == ("Red", 60.0, 1)
    assert reason == "Red: 7.8% is below the target of 60.0% by more than the 2.0 point tolerance"


# --- LAIT's method, recomputed independently in polars from the raw tables --------------------------

# LAIT measure -> (KPI, how LAIT's "YYYY" maps to our period key, polarity): every benchmarked KPI whose
# preferred source is LAIT, and S5_inc, whose figures come from the EHC plans releases
LAIT_MEASURES = {
    "SEN_TotSENSuP": ("S3", "academic", "Context"),
    "SEN_TotStat": ("S4", "academic", "Context"),
    "SEN_EHC_All_20wks": ("S5_inc", "calendar", "High"),
    "SEN_AppealableDec": ("S12_rate", "calendar", "Low"),
    "NEW_KS2_RWM_Sen_W/Osta": ("E1", "academic", "High"),
    "NEW_KS2_RWM_Sen_Withsta": ("E2", "academic", "High"),
    "SEN_WoStat_AVG_Attain8_Score": ("E3", "academic", "High"),
    "SEN_Stat_AVG_Attain8_Score": ("E4", "academic", "High"),
    "SEN_WoStat_AVG_Prog8_Score": ("E5", "academic", "High"),
    "SEN_Stat_AVG_Prog8_Score": ("E6", "academic", "High"),
    "16-17YroldSEN_ET": ("P2", "financial", "High"),
}


def _period(year: int, kind: str) -> tuple[str, str]:
    """Our period key and the period's last day for LAIT's year of a measure of this kind."""
    if kind == "academic":
        return f"{year - 1}{str(year)[2:]}", f"{year}-08-31"
    if kind == "financial":
        return f"FY{year - 1}{str(year)[2:]}", f"{year}-03-31"
    return str(year), f"{year}-12-31"


def _band(value: float, cuts: tuple[float, float, float], polarity: str) -> str:
    quarter = 1 if value <= cuts[0] else 2 if value <= cuts[1] else 3 if value <= cuts[2] else 4
    return "ABCD"[quarter - 1] if polarity == "Low" else "DCBA"[quarter - 1]


def lait_method(raw: duckdb.DuckDBPyConnection, measure: str, groupings: str = "current") -> pl.DataFrame:
    """SN average, count reported, rank and quartile band per LA and period, the LAIT way: the current
    SN groupings (the vintage published last) for every year; with groupings="in_force", the vintage
    in force at the period's end instead."""
    kpi, kind, polarity = LAIT_MEASURES[measure]
    values = query_frame(raw, """select new_la_code as la_code, cast(years as integer) as year, value
        from raw.lait_indicators where measure_short = ? and geographic_level = 'Local authority'""", [measure])
    groups = query_frame(raw, """select vintage, valid_from, new_la_code as la_code, neighbour_new_la_code as neighbour
        from raw.statistical_neighbours""")
    vintages = groups.select("vintage", "valid_from").unique().sort("valid_from")
    frames = []
    for year in sorted(values["year"].unique().to_list()):
        period_key, period_end = _period(year, kind)
        in_force = vintages.filter(pl.col("valid_from") <= pl.lit(period_end).str.to_date())
        vintage = (in_force if in_force.height else vintages)["vintage"].to_list()[-1 if in_force.height else 0]
        if groupings == "current":
            vintage = vintages["vintage"].to_list()[-1]
        year_values = values.filter(pl.col("year") == year).drop("year")
        known = year_values.drop_nulls("value")
        neighbours = groups.filter(pl.col("vintage") == vintage).join(
            known.rename({"la_code": "neighbour", "value": "neighbour_value"}), on="neighbour", how="left")
        sn = neighbours.group_by("la_code").agg(
            sn_average=pl.col("neighbour_value").mean(), sn_count_reported=pl.col("neighbour_value").count())
        frame = year_values.join(sn, on="la_code", how="left").with_columns(period_key=pl.lit(period_key))
        if polarity != "Context":
            cuts = tuple(known["value"].quantile(q, interpolation="linear") for q in (0.25, 0.5, 0.75))
            order = pl.col("value") if polarity == "Low" else -pl.col("value")
            frame = frame.with_columns(
                national_rank=order.rank(method="min").cast(pl.Int64),
                quartile_band=pl.col("value").map_elements(lambda v, c=cuts: _band(v, c, polarity),
                                                           return_dtype=pl.String),
            )
        else:
            frame = frame.with_columns(national_rank=pl.lit(None, pl.Int64), quartile_band=pl.lit(None, pl.String))
        frames.append(frame)
    return pl.concat(frames).with_columns(kpi_id=pl.lit(kpi))


@pytest.mark.parametrize("measure", list(LAIT_MEASURES))
def test_benchmarks_match_lait_method_for_every_la_and_year(con, measure):
    expected = lait_method(con, measure)
    kpi = LAIT_MEASURES[measure][0]
    ours = query_frame(con, """select la_code, period_key, value, sn_average, sn_count_reported, national_rank,
        quartile_band from marts.fct_kpi_benchmarks where kpi_id = ?""", [kpi])
    joined = expected.join(ours, on=["la_code", "period_key"], how="inner", suffix="_ours")
    # every LA-year LAIT publishes a figure for is in our benchmarks, with the same value
    published = expected.drop_nulls("value")
    assert joined.drop_nulls("value").height == published.height
    assert (joined["value"] - joined["value_ours"]).abs().max() < 1e-9
    mismatches = joined.filter(
        ((pl.col("sn_average") - pl.col("sn_average_ours")).abs() > 1e-9)
        | (pl.col("sn_average").is_null() != pl.col("sn_average_ours").is_null())
        | (pl.col("sn_count_reported").fill_null(0) != pl.col("sn_count_reported_ours").fill_null(0))
        | (pl.col("national_rank").is_null() != pl.col("national_rank_ours").is_null())
        | (pl.col("national_rank") != pl.col("national_rank_ours"))
        | (pl.col("quartile_band").is_null() != pl.col("quartile_band_ours").is_null())
        | (pl.col("quartile_band") != pl.col("quartile_band_ours"))
    )
    assert mismatches.height == 0, mismatches.head(10)
    assert joined.height > 1000
    if LAIT_MEASURES[measure][2] != "Context":
        assert joined["national_rank_ours"].drop_nulls().len() == published.height


@pytest.mark.parametrize("measure", ["SEN_EHC_All_20wks", "16-17YroldSEN_ET"])
def test_sn_average_in_force_uses_the_groupings_of_the_period(con, measure):
    expected = lait_method(con, measure, groupings="in_force").select(
        "la_code", "period_key", "sn_average", "sn_count_reported")
    ours = query_frame(con, """select la_code, period_key, sn_average_in_force, sn_count_in_force
        from marts.fct_kpi_benchmarks where kpi_id = ?""", [LAIT_MEASURES[measure][0]])
    joined = expected.join(ours, on=["la_code", "period_key"], how="inner")
    assert joined.height > 1000
    assert joined.filter((pl.col("sn_count_reported").fill_null(0) != pl.col("sn_count_in_force").fill_null(0))
                         | ((pl.col("sn_average") - pl.col("sn_average_in_force")).abs() > 1e-9)).height == 0


def test_stockport_s5_inc_2024_sn_average_is_lait_s_and_names_the_groupings(con):
    average, count, groupings, in_force = one(con, """select sn_average, sn_count_reported, sn_groupings,
        sn_average_in_force from marts.fct_kpi_benchmarks where la_code = ? and kpi_id = 'S5_inc'
        and period_key = '2024'""", [STOCKPORT])
    assert round(average, 2) == 36.48 and groupings == "May 2025 groupings"
    assert round(in_force, 1) == 41.4  # the 2021 groupings, in force for 2024: what the scorecard showed before
