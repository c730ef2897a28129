"""Releases over time on the real files (design.md section 8): any subset of sources builds."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import duckdb
import pytest

from pipelines.refresh import run_refresh

pytestmark = [pytest.mark.real_data, pytest.mark.slow]

STOCKPORT = "E08000007"


def test_the_ehcp_release_and_the_la_lookup_alone_publish_s5_for_every_la(real_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(real_data / "dfe" / "ehcp-plans-2025" / "education-health-and-care-plans_2025.zip", raw)
    shutil.copy(real_data / "reference" / "la_lookup.csv", raw)
    published = tmp_path / "warehouse" / "send.duckdb"
    summary = run_refresh(raw, published)
    assert summary.status == "published"
    assert len(summary.loaded) == 13 and len(summary.not_known) == 2  # the zip's two supporting CSVs
    con = duckdb.connect(str(published), read_only=True)
    try:
        las = con.execute("""select count(distinct geo_code) from marts.fct_kpi_values where kpi_id = 'S5'
            and geo_level = 'la' and period_key = '2024' and is_preferred and value is not null""").fetchall()[0][0]
        # every LA the release has a rate for: a denominator above 0 in the all-plans row (City of
        # London and Dorset issued no plans in 2024 excluding exceptions: 0/0 is no rate, not 0%)
        every_la = con.execute("""select count(distinct new_la_code) from raw.ehcp_timeliness
            where geographic_level = 'Local authority' and time_period = '2024' and measure = 'plans_issued_den_ex'
            and breakdown_topic = 'All EHC plans issued' and value > 0""").fetchall()[0][0]
        assert las == every_la > 140
        no_plans = con.execute("""select geo_code, value_status from marts.fct_kpi_values where kpi_id = 'S5'
            and geo_level = 'la' and period_key = '2024' and is_preferred and denominator = 0
            order by geo_code""").fetchall()
        assert no_plans == [("E06000059", "unavailable"), ("E09000001", "unavailable")]
        reasons = dict(con.execute("select kpi_id, rag_reason from marts.fct_scorecard where la_code = ?",
                                   [STOCKPORT]).fetchall())
        assert reasons["S4"] == "No data (source not loaded: lait_indicators)"
        assert reasons["P1"] == "No data (source not loaded: neet_send)"
        assert reasons["S5"].startswith("Red:")
        sentence = con.execute("select summary_sentence from marts.fct_scorecard_summary where la_code = ?",
                               [STOCKPORT]).fetchall()[0][0]
        not_loaded = con.execute("""select count(*) from marts.fct_scorecard where la_code = ? and is_headline
            and rag_reason like 'No data (source not loaded:%'""", [STOCKPORT]).fetchall()[0][0]
        assert not_loaded >= 5
        assert sentence.endswith(f" {not_loaded} measures of these because their source was not loaded.")
    finally:
        con.close()


def test_a_neet_file_with_a_placeholder_row_loads_its_las_and_quarantines_the_row(real_data, tmp_path):
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    lines = (real_data / "dfe" / "neet-send" / "UD_NEETNK_LA_dashboard_2022_final.csv").read_text().splitlines()
    fields = lines[-1].split(",")
    fields[5:10] = ["", "", "", "", "LA demo"]  # region_code, region_name, old_la_code, new_la_code, la_name
    path = tmp_path / "UD_NEETNK_LA_dashboard_2022_final.csv"
    path.write_text("\n".join([*lines, ",".join(fields)]) + "\n")
    assert len(lines) + 1 == 162
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        [result] = ingest_paths(con, [path])
        assert result.status == "loaded"
        assert result.message.startswith("warning: 1 of 161 file row(s) could not be keyed to an LA")
        assert "file row 162: LA row 'LA demo' has no LA code" in result.message
        las = con.execute("""select count(distinct new_la_code) from raw.neet_send
            where geographic_level = 'Local authority'""").fetchall()[0][0]
        assert las == 150
        quarantined = con.execute("""select source_row, description from quarantine.rows
            where check_name = 'la_row_has_a_known_la_code'""").fetchall()
        assert quarantined == [(162, "LA row 'LA demo' has no LA code")]
    finally:
        con.close()


def test_rows_over_the_share_refuse_the_file_naming_the_row_and_code(real_data, tmp_path):
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    text = (real_data / "dfe" / "neet-send" / "UD_NEETNK_LA_dashboard_2022_final.csv").read_text()
    path = tmp_path / "UD_NEETNK_LA_dashboard_2022_final.csv"
    path.write_text(text.replace(",E08000007,", ",E08999999,").replace(",E08000003,", ",E08999998,"))
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        ingest_paths(con, [real_data / "reference" / "la_lookup.csv"])
        [result] = ingest_paths(con, [path])
        assert result.status == "failed"
        assert "2 of 160 file rows cannot be keyed to an LA, more than the 1%" in result.message
        assert "LA code 'E08999998' is not in the LA reference" in result.message
        assert con.execute("select count(*) from information_schema.tables where table_name = 'neet_send'"
                           ).fetchall() == [(0,)]
    finally:
        con.close()


# --- release order and coverage on the real 20-week file ------------------------------------------------

def _timeliness(real_data) -> list[bytes]:
    """The real timeliness_20_week.csv of the 2025 EHC plans release (2019-2024), as lines."""
    zip_path = real_data / "dfe" / "ehcp-plans-2025" / "education-health-and-care-plans_2025.zip"
    with zipfile.ZipFile(zip_path) as archive:
        return archive.read("data/timeliness_20_week.csv").splitlines(keepends=True)


def _write(path, lines: list[bytes]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _current_files(con) -> dict[str, int]:
    return dict(con.execute("""select file_sha256, count(*) from raw.ehcp_timeliness where not is_superseded
        group by 1""").fetchall())


def test_real_v1_v2_v1_ends_on_the_newest_release(real_data, tmp_path):
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    lines = _timeliness(real_data)
    # last year's release: the same file without 2024 (it covered 2019-2023); this year's: the real file
    v1 = _write(tmp_path / "2024_release" / "timeliness_20_week.csv", [x for x in lines if not x.startswith(b"2024,")])
    v2 = _write(tmp_path / "2025_release" / "timeliness_20_week.csv", lines)
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        ingest_paths(con, [tmp_path / "2024_release"])
        ingest_paths(con, [tmp_path / "2025_release"])
        rows = len(lines) - 1
        assert _current_files(con) == {v2: con.execute(
            "select count(*) from raw.ehcp_timeliness where file_sha256 = ?", [v2]).fetchall()[0][0]}
        # last year's file downloaded again (a byte-different copy): loaded, kept as superseded, nothing changes
        again = tmp_path / "downloads" / "timeliness_20_week.csv"
        _write(again, [x.replace(b"\n", b"\r\n") for x in lines if not x.startswith(b"2024,")])
        [result] = ingest_paths(con, [again])
        assert result.status == "loaded"
        assert "a newer release already loaded covers 5 periods (2019 to 2023)" in result.message
        assert set(_current_files(con)) == {v2}
        assert v1 not in _current_files(con) and rows > 5000
    finally:
        con.close()


@pytest.mark.parametrize("order", ["archive_first", "release_first", "one_scan"])
def test_real_archive_and_release_folders_end_on_the_newest(real_data, tmp_path, order):
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    lines = _timeliness(real_data)
    drop = tmp_path / "drop"
    older = _write(drop / "archive" / "timeliness_20_week.csv", [x for x in lines if not x.startswith(b"2024,")])
    newer = _write(drop / "2025_release" / "timeliness_20_week.csv", lines)
    scans = {"archive_first": [drop / "archive", drop / "2025_release"],
             "release_first": [drop / "2025_release", drop / "archive"], "one_scan": [drop]}[order]
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        for path in scans:
            ingest_paths(con, [path])
        assert set(_current_files(con)) == {newer}
        # the older release is kept whole, every row superseded
        kept = con.execute("""select count(*), count(*) filter (where is_superseded) from raw.ehcp_timeliness
            where file_sha256 = ?""", [older]).fetchall()[0]
        assert kept[0] == kept[1] > 50_000
    finally:
        con.close()


def test_real_newer_release_without_an_la_keeps_it_and_warns(real_data, tmp_path):
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    lines = _timeliness(real_data)
    older = _write(tmp_path / "2024_release" / "timeliness_20_week.csv",
                   [x for x in lines if not x.startswith(b"2024,")])
    newer = _write(tmp_path / "2025_release" / "timeliness_20_week.csv",
                   [x for x in lines if f",{STOCKPORT},".encode() not in x])
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        ingest_paths(con, [tmp_path / "2024_release"])
        [result] = ingest_paths(con, [tmp_path / "2025_release"])
        assert result.status == "loaded"
        assert "does not carry 1 geography an older release had" in result.message
        assert STOCKPORT in result.message and "their older values are kept" in result.message
        kept = con.execute("""select distinct time_period, file_sha256 from raw.ehcp_timeliness
            where new_la_code = ? and not is_superseded order by 1""", [STOCKPORT]).fetchall()
        assert kept == [(str(y), older) for y in range(2019, 2024)]
        logged = con.execute("""select message from meta.file_loads where file_sha256 = ?""", [newer]).fetchall()
        assert STOCKPORT in logged[0][0]
    finally:
        con.close()


@pytest.mark.parametrize("newest_first", [True, False])
def test_real_marks_file_by_file_equal_a_whole_group_recompute(real_data, tmp_path, newest_first):
    """Each file's load marks only the figures it carries (releases.mark_superseded with its hash): in either
    load order the marks equal a recompute over the whole EHC plans group, and the newest edition wins."""
    from pipelines.ingest.loader import connect_warehouse, ingest_paths
    from pipelines.ingest.releases import mark_superseded
    from pipelines.ingest.sources import SOURCES_BY_TABLE

    newest = tmp_path / "2025_release"
    _write(newest / "timeliness_20_week.csv", _timeliness(real_data))
    editions = [real_data / "dfe" / "ehcp-plans-2019", real_data / "dfe" / "ehcp-plans-2023"]
    scans = [newest, *editions] if newest_first else [*reversed(editions), newest]
    scans.insert(0, real_data / "reference" / "la_lookup.csv")  # the 2019 edition's LA codes of its time
    marks = """select release, coalesce(target_source, 'ehcp_timeliness'), is_superseded, count(*) from (
        select release, target_source, is_superseded from raw.ehcp_main_table
        union all select release, null, is_superseded from raw.ehcp_timeliness) group by all order by all"""
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        for path in scans:
            results = ingest_paths(con, [path])
            assert {r.status for r in results} == {"loaded"}, [r.message for r in results]
        file_by_file = con.execute(marks).fetchall()
        mark_superseded(con, SOURCES_BY_TABLE["ehcp_timeliness"])  # every table of the group, every figure
        assert con.execute(marks).fetchall() == file_by_file
        current = {(release, target) for release, target, superseded, _ in file_by_file if not superseded}
        assert ("timeliness_20_week", "ehcp_timeliness") in current
        # 2019-2022 of the older editions' timeliness are superseded by the 2025 release, 2014-2018 of 2019's by 2023's
        superseded = dict(con.execute("""select release, count(distinct time_period) from raw.ehcp_main_table
            where is_superseded and target_source = 'ehcp_timeliness' group by 1""").fetchall())
        assert superseded == {"SEN2_MI": 5, "sen2_mi": 4}
    finally:
        con.close()
