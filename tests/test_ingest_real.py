"""The real DfE files in ../shared/data load, and published figures come out as DfE/LAIT print them."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest.loader import connect_warehouse, ingest_paths

pytestmark = pytest.mark.real_data

EHCP_TABLES = [
    "ehcp_annual_reviews", "ehcp_assessments", "ehcp_caseload", "ehcp_ceased_plans", "ehcp_newplans",
    "ehcp_personal_budgets", "ehcp_requests", "ehcp_residential_settings", "ehcp_sen_need_newplans",
    "ehcp_sen_needs_all_plans", "ehcp_timeliness", "ehcp_work_based_placements",
]


@pytest.fixture(scope="module")
def con(real_warehouse):
    connection = duckdb.connect(str(real_warehouse), read_only=True)
    yield connection
    connection.close()


def scalar(con, sql: str, params=None):
    rows = con.execute(sql, params or []).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_all_twelve_ehcp_files_load_with_their_release(con):
    for table in EHCP_TABLES:
        releases = con.execute(f"select distinct release from raw.{table}").fetchall()
        assert releases == [("education-health-and-care-plans_2025",)], table
        assert scalar(con, f"select count(*) from raw.{table}") > 10_000, table


def test_every_source_in_shared_data_loaded(con):
    loaded = {r[0] for r in con.execute("select distinct source from meta.file_loads where status='loaded'").fetchall()}
    assert loaded >= {*EHCP_TABLES, "lait_indicators", "lait_data_dictionary", "lait_la_list", "statistical_neighbours",
                      "la_reference", "neet_send", "exclusions", "school_pupils", "ks4_characteristics"}


@pytest.mark.parametrize(("measure", "expected"), [
    ("pc_plans_issued_within_20_weeks", 45.9),  # including exceptions
    ("pc_plans_issued_20_weeks_ex", 46.4),  # excluding exceptions
])
def test_england_2024_new_plans_within_20_weeks(con, measure, expected):
    value = scalar(con, """select value from raw.ehcp_timeliness where time_period = '2024'
        and geographic_level = 'National' and breakdown_topic = 'All EHC plans issued' and measure = ?""", [measure])
    assert value == expected


def test_recomputed_rate_matches_the_published_one(con):
    num, den = con.execute("""select max(value) filter (measure = 'plans_issued_20_weeks_ex'),
        max(value) filter (measure = 'plans_issued_den_ex') from raw.ehcp_timeliness where time_period = '2024'
        and geographic_level = 'National' and breakdown_topic = 'All EHC plans issued'""").fetchall()[0]
    assert round(100 * num / den, 1) == 46.4


def test_stockport_2024_in_release_and_lait(con):
    release = con.execute("""select measure, value from raw.ehcp_timeliness where time_period = '2024'
        and new_la_code = 'E08000007' and breakdown_topic = 'All EHC plans issued'
        and measure in ('pc_plans_issued_within_20_weeks', 'pc_plans_issued_20_weeks_ex') order by 1""").fetchall()
    assert release == [("pc_plans_issued_20_weeks_ex", 7.8), ("pc_plans_issued_within_20_weeks", 7.8)]
    lait = scalar(con, """select value from raw.lait_indicators where measure_short = 'SEN_EHC_All_20wks'
        and years = '2024' and new_la_code = 'E08000007'""")
    assert lait == 7.8


def test_lait_float_artefacts_and_missing(con):
    statuses = dict(con.execute("select value_status, count(*) from raw.lait_indicators group by 1").fetchall())
    assert set(statuses) == {"ok", "missing"}
    # every '-' is missing with no value; no artefacts like 9.8000000000000007 survive
    assert scalar(con, "select count(*) from raw.lait_indicators where value_raw = '-' and value is not null") == 0
    assert scalar(con, """select count(*) from raw.lait_indicators
        where value_raw like '%0000000%' and length(cast(value as varchar)) > 14""") == 0


def test_every_lait_la_number_maps_to_a_new_la_code(con):
    unmapped = con.execute("""select distinct la_number, la_and_regions from raw.lait_indicators
        where geographic_level = 'Local authority' and new_la_code is null""").fetchall()
    assert unmapped == []
    assert scalar(con, "select count(distinct la_number) from raw.lait_indicators where la_number >= 970") == 12


def test_2025_sn_groups_have_ten_neighbours(con):
    counts = con.execute("""select la_number, count(*), count(distinct neighbour_rank), count(neighbour_new_la_code)
        from raw.statistical_neighbours where vintage = '2025' group by 1""").fetchall()
    assert len(counts) >= 150
    assert all(n == 10 and ranks == 10 and codes == 10 for _, n, ranks, codes in counts)
    labels = {r[0] for r in con.execute("select distinct closeness from raw.statistical_neighbours").fetchall()}
    assert labels <= {"Extremely close", "Very close", "Close", "Somewhat close", "Not close"}


def test_neet_pupils_exclusions_and_ks4(con):
    ehcp_neet = scalar(con, """select count(*) from raw.neet_send where measure = 'neet_nk_ehcp_percent'
        and geographic_level = 'Local authority' and value_status = 'ok'""")
    assert ehcp_neet > 400  # ~150 LAs x 4 years, some suppressed
    assert scalar(con, "select count(distinct time_period) from raw.neet_send") == 4
    total = scalar(con, """select value from raw.school_pupils where time_period = '202122'
        and geographic_level = 'National' and phase_type_grouping = 'Total' and ethnicity = 'Total'
        and language = 'Total' and measure = 'headcount'""")
    assert 8_000_000 < total < 9_000_000
    assert scalar(con, "select count(distinct sen_status) from raw.ks4_characteristics") >= 4
    assert scalar(con, "select count(distinct time_period) from raw.exclusions") == 17


def test_reloading_everything_changes_nothing(real_warehouse, tmp_path, real_data):
    import shutil

    copy = tmp_path / "again.duckdb"
    shutil.copy(real_warehouse, copy)
    con = connect_warehouse(copy)
    try:
        counts = con.execute("select count(*) from raw.lait_indicators").fetchall()
        results = ingest_paths(con, [real_data])
        assert {r.status for r in results} == {"skipped", "unknown"}  # unknown: the zip's supporting files
        assert con.execute("select count(*) from raw.lait_indicators").fetchall() == counts
    finally:
        con.close()


def test_three_ehcp_editions_newest_release_wins_where_they_overlap(con):
    layouts = con.execute("select distinct layout, release from raw.ehcp_main_table order by 1").fetchall()
    assert layouts == [("2019 edition (SEN2_MI.csv; long descriptive names)", "ehcp-plans-2019/SEN2_MI"),
                       ("2023 edition (sen2_mi.csv; snake_case)", "ehcp-plans-2023/sen2_mi")]
    # which release the marts take for each year is tested on fct_kpi_values (test_kpi_models_real)
    # nothing is deleted: the superseded figures stay with their release
    superseded = dict(con.execute("""select release, count(distinct time_period) from raw.ehcp_main_table
        where is_superseded and target_source = 'ehcp_timeliness' group by 1""").fetchall())
    # 2014-2018 re-published in the 2023 edition, 2019-2022 in the 2025 release
    assert superseded == {"ehcp-plans-2019/SEN2_MI": 5, "ehcp-plans-2023/sen2_mi": 4}
    # the same measure under three spellings: England 2018 new plans within 20 weeks (excluding exceptions)
    values = dict(con.execute("""select release, value from raw.ehcp_main_table where time_period = '2018'
        and geographic_level = 'National' and measure = 'plans_issued_20_weeks_ex'""").fetchall())
    assert values["ehcp-plans-2019/SEN2_MI"] == 27111


def test_release_zip_members_of_no_known_source_are_listed(real_data):
    from pipelines.ingest.loader import plan_files

    planned = plan_files([real_data / "dfe" / "ehcp-plans-2025"])
    unknown = {r.file.split("!")[-1]: r.message for _, _, r in planned if r is not None}
    assert set(unknown) == {"supporting-files/sen2_dmo_dco.csv",
                            "supporting-files/SEND Tribunals and appeal rate 2014-2024.csv"}
    assert all("is not a known source, so it was not loaded; the nearest is" in m for m in unknown.values())
    assert sum(spec is not None for _, spec, _ in planned) == 12


def test_a_layout_of_no_known_edition_is_refused_with_its_columns_and_the_nearest(real_data, tmp_path):
    text = (real_data / "dfe" / "ehcp-plans-2019" / "SEN2_MI.csv").read_text()
    header, body = text.split("\n", 1)
    renamed = header.replace("ehc_new_plans_in_20_weeks_excluding_exception_cases", "ehc_20wk_excl")
    (tmp_path / "SEN2_MI.csv").write_text(renamed + "\n" + body)
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        [result] = ingest_paths(con, [tmp_path / "SEN2_MI.csv"])
    finally:
        con.close()
    assert result.status == "failed"
    assert "matches none of the known layouts" in result.message and "ehc_20wk_excl" in result.message
    assert "nearest layout is the 2019 edition" in result.message
    assert "'ehc_new_plans_in_20_weeks_excluding_exception_cases'" in result.message


def test_a_second_download_of_a_release_file_loads(real_data, tmp_path):
    import zipfile

    data = zipfile.ZipFile(real_data / "dfe" / "ehcp-plans-2025" / "education-health-and-care-plans_2025.zip"
                           ).read("data/timeliness_20_week.csv")
    (tmp_path / "timeliness_20_week (1).csv").write_bytes(data)
    (tmp_path / "notes.csv").write_text("requests_received_in_year,remark\n1,a\n")
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        results = {r.file: r for r in ingest_paths(con, [tmp_path])}
        assert results["timeliness_20_week (1).csv"].status == "loaded"
        assert results["notes.csv"].status == "unknown"
        assert "EHC plans release: requests" in results["notes.csv"].message
        assert con.execute("select count(*) from meta.file_loads where status = 'unknown'").fetchall() == [(1,)]
    finally:
        con.close()
