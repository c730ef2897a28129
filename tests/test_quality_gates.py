"""Quality gates (issue 5): every suite passes a small valid file and catches each expectation broken
on its own; a failing file is quarantined with its reasons and leaves the raw table unchanged; every
real published file in ../shared/data passes its suite."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.ingest.ees import ees_to_long
from pipelines.ingest.loader import connect_warehouse, ensure_meta, load_raw_file, read_source, with_lineage
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import EES_GEOGRAPHY_COLUMNS, SOURCES, SOURCES_BY_TABLE
from pipelines.quality import build_suites
from pipelines.quality.gates import record_gate, validate_frame
from pipelines.quality.suites import add_helpers, condition_text, expectation_columns, load_suite, suites_dir

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NOW = dt.datetime(2025, 6, 1, 12, 0)

# --- small hand-made files ------------------------------------------------------------------------------

LA_LOOKUP = """new_la_code,la_name,date_of_operation,date_of_termination,parent_geography_code,entity_code,entity_description,status,old_la_code
E08000007,Stockport,01/01/2009,,E12000002,E08,Metropolitan Districts,live,356
E08000003,Manchester,01/01/2009,,E12000002,E08,Metropolitan Districts,live,352
E09000008,Croydon,01/01/2009,,E12000007,E09,London Boroughs,live,306
E09000009,Ealing,01/01/2009,,E12000007,E09,London Boroughs,live,307
E10000006,Cumbria,01/01/2009,31/03/2023,E12000002,E10,Counties,terminated,909
E06000063,Cumberland,01/04/2023,,E12000002,E06,Unitary Authorities,live,942
"""

DICTIONARY = """Measure_code,Topic,Measure,Chart_title,Measure_short,Polarity,Y_axis_name
1,SEN,New EHC plans within 20 weeks (all),20 weeks,SEN_EHC_All_20wks,High,% of EHC plans
2,SEN,New EHC plans within 20 weeks (excluding exceptions),20 weeks,SEN_EHC_Excpt_20wks,High,% of EHC plans
3,SEN,EHC plans in January,Caseload,SEN_CASES_JAN,-,Number
4,NEET,September guarantee,Offers,Sept_Guarantee,High,% of offers
5,Health,Child deaths preventable,Deaths,PreChildDea,Low,% of deaths
"""

METADATA = """col_name,col_type,label,indicator_grouping,indicator_unit,indicator_dp,filter_hint,filter_grouping_column
phase_type_grouping,Filter,School type,,,,Filter by school type,
headcount,Indicator,Headcount,Pupil counts,,0,,
percent_of_pupils,Indicator,Percent,Pupil counts,%,1,,
"""

# level, region code, region name, LA code, old code, LA name
GEOGRAPHY = [
    ("National", "", "", "", "", ""),
    ("Regional", "E12000002", "North West", "", "", ""),
    ("Regional", "E12000007", "London", "", "", ""),
    ("Local authority", "E12000002", "North West", "E08000007", "356", "Stockport"),
    ("Local authority", "E12000002", "North West", "E08000003", "352", "Manchester"),
    ("Local authority", "E12000007", "London", "E09000008", "306", "Croydon"),
    ("Local authority", "E12000007", "London", "E09000009", "307", "Ealing"),
]
LA_COUNTS = {"E08000007": 10, "E08000003": 20, "E09000008": 30, "E09000009": 40}
REGION_COUNTS = {"E12000002": 30, "E12000007": 70}

# Measures of each EES source's fixture: at least one of every kind its suite knows.
EES_MEASURES = {
    "ehcp_timeliness": ["plans_issued_den", "plans_issued_den_ex", "plans_issued_within_20_weeks",
                        "plans_issued_20_weeks_ex", "pc_plans_issued_within_20_weeks", "pc_plans_issued_20_weeks_ex"],
    "ehcp_annual_reviews": ["total_ehc_plans", "pc_decision_gt_4weeks", "no_outcome"],
    "neet_send": ["neet_nk_ehcp_percent", "neet_nk_sendsupport_percent", "september_guarantee_offer_made_percent",
                  "cohort_march"],
    "exclusions": ["perm_excl", "suspension", "headcount", "perm_excl_rate", "susp_rate", "num_schools"],
    "school_pupils": ["headcount", "percent_of_pupils"],
    "ks4_characteristics": ["avg_att8", "pt_l2basics_94", "t_pupils"],
}
EES_FILTER_VALUES = {"breakdown_topic": "All EHC plans", "breakdown": "Total", "age": "16-17", "school_type": "Total",
                     "version": "Final", "school_characteristic": "All pupils", "sen_status": "Total"}
PERIOD = {"neet_send": ("2024", "Calendar year")}


def ees_measures(table: str) -> list[str]:
    spec = SOURCES_BY_TABLE[table]
    if table in EES_MEASURES:
        return EES_MEASURES[table]
    required = [c for c in spec.required if c not in EES_GEOGRAPHY_COLUMNS and c not in spec.filters]
    return [*required, "example_total_pc"]


def ees_text(table: str, measures: list[str] | None = None, *, override: dict | None = None,
             geography: list[tuple] | None = None) -> str:
    """A small EES tidy CSV for `table`: England, two regions, four LAs; counts that add up."""
    spec = SOURCES_BY_TABLE[table]
    measures = measures or ees_measures(table)
    period, identifier = PERIOD.get(table, ("202324", "Academic year"))
    header = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
              "region_name", "new_la_code", "old_la_code", "la_name", *spec.filters, *measures]
    lines = [",".join(header)]
    for level, region, region_name, code, old, name in geography or GEOGRAPHY:
        count = LA_COUNTS.get(code) or REGION_COUNTS.get(region if level == "Regional" else "", 100)
        cells = [period, identifier, level, "E92000001", "England", region, region_name, code, old, name]
        cells += [EES_FILTER_VALUES.get(f, "Total") for f in spec.filters]
        for measure in measures:
            is_pct = "pc" in measure.split("_") or measure.endswith(("_percent", "_rate")) or measure.startswith(
                ("pt_", "percent_")) or "_pc" in measure
            cells.append(str((override or {}).get((code or level, measure), 50 if is_pct else count)))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def lait_parquet() -> bytes:
    rows = []
    places = [(970, "England", "NA"), (981, "North West", "NA"), (356, "Stockport", "North West"),
              (352, "Manchester", "North West")]
    for measure, value in (("SEN_EHC_All_20wks", "50"), ("SEN_EHC_Excpt_20wks", "55"), ("SEN_CASES_JAN", "120"),
                           ("Sept_Guarantee", "95"), ("PreChildDea", "3")):
        for number, name, region in places:
            rows.append({"Short Desc": measure, "Data item": None, "Years": "2024", "LA and Regions": name,
                         "Values": value, "LA Number": str(number), "Region": region})
    buffer = io.BytesIO()
    pl.DataFrame(rows).write_parquet(buffer)
    return buffer.getvalue()


def lineage(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return with_lineage(frame, RawFile(name=name, data=name.encode()), NOW)


_VALID: dict[tuple[str, int], pl.DataFrame] = {}


def valid_frame(table: str, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """A small parsed file of `table` that passes its suite (with lineage, as the loader validates it)."""
    key = (table, id(con))
    if key not in _VALID:
        _VALID[key] = _build_valid_frame(table, con)
    return _VALID[key]


def _build_valid_frame(table: str, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    spec = SOURCES_BY_TABLE[table]
    files = {
        "la_reference": ("la_lookup.csv", LA_LOOKUP.encode()),
        "lait_data_dictionary": ("lait_data_dictionary.csv", DICTIONARY.encode()),
        "ees_metadata": ("spc_pupils_example.meta.csv", METADATA.encode()),
        "lait_indicators": ("bds_long_0.parquet", lait_parquet()),
    }
    if table in files:
        raw = RawFile(name=files[table][0], data=files[table][1])
        return with_lineage(read_source(raw, spec, con), raw, NOW)
    if spec.family == "ees_csv":
        stem = spec.name_pattern.removeprefix("^").split("\\")[0]  # ^timeliness_20_week\.csv... -> timeliness_20_week
        name = {"neet_send": "UD_NEETNK_LA_dashboard_2024_final.csv", "exclusions": "exc_example.csv",
                "school_pupils": "spc_pupils_example.csv"}.get(table, f"{stem}.csv")
        raw = RawFile(name=name, data=ees_text(table).encode())
        assert spec.matches_name(raw.base_name), raw.base_name
        return with_lineage(read_source(raw, spec, con), raw, NOW)
    if table == "ehcp_main_table":  # an earlier edition's main table: the 2023 layout's columns
        with open("pipelines/reference/ehcp_main_table_layouts.csv", encoding="utf-8") as handle:
            columns = [r["column"] for r in csv.DictReader(handle) if r["layout"].startswith("2023 edition")]
        columns.append("new_all_ehc_pc")  # a column no KPI maps (kept under its own name)
        raw = RawFile(name="sen2_mi.csv", data=ees_text(table, columns).replace("202324,Academic year", "2022,Calendar year").encode())
        return with_lineage(read_source(raw, spec, con), raw, NOW)
    if spec.family == "ees_xlsx":  # the workbook reader's text frame goes through the same ees_to_long
        text = pl.read_csv(io.StringIO(ees_text(table)), infer_schema=False)
        text = text.with_row_index("source_row", offset=2).with_columns(pl.col("source_row").cast(pl.Int64))
        return lineage(ees_to_long(text, spec, "ks4_characteristics.xlsx"), "ks4_characteristics.xlsx")
    if table == "lait_la_list":
        return lineage(pl.DataFrame({
            "source_row": [2, 3, 4], "la_number": [356, 352, 970], "la_name": ["Stockport", "Manchester", "England"],
            "lait_region": ["North West", "North West", "NA"], "la_type": ["MD", "MD", "NA"]}), "la_code_list.xlsx")
    if table == "statistical_neighbours":
        pairs = [(356, "E08000007", "Stockport", 1, 352, "E08000003"), (356, "E08000007", "Stockport", 2, 306, "E09000008"),
                 (352, "E08000003", "Manchester", 1, 356, "E08000007"), (352, "E08000003", "Manchester", 2, 307,
                                                                         "E09000009")]
        return lineage(pl.DataFrame(
            [{"vintage": "2025", "valid_from": dt.date(2025, 5, 1), "la_number": a, "new_la_code": b, "la_name": c,
              "neighbour_rank": d, "neighbour_la_number": e, "neighbour_new_la_code": f, "closeness": "Very close",
              "source_row": 4 + i} for i, (a, b, c, d, e, f) in enumerate(pairs)]), "sn_may_2025.xlsx")
    if table == "sen2_requests":  # the requests of one SEN2 batch, as the SEN2 loader gates them
        return lineage(pl.DataFrame({
            "source_row": [2, 3, 4], "extract_date": [dt.date(2025, 6, 30)] * 3,
            "request_key": ["r1", "r2", "r3"], "person_key": ["p1", "p1", "p2"],
            "received_date": [dt.date(2024, 3, 1), dt.date(2024, 9, 1), dt.date(2025, 1, 7)]}), "sen2_example.xml")
    # a source with only its SourceSpec's generic checks (local extracts): its key columns
    data = {"source_row": [2, 3, 4]}
    for i, column in enumerate(spec.key):
        data[column] = [f"{column}-{n}" if i == len(spec.key) - 1 else "2025-03-01" for n in range(3)]
    return lineage(pl.DataFrame(data), f"{table}_example.csv")


@pytest.fixture(scope="module")
def reference_con(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """A warehouse holding the small LA reference and LAIT dictionary (loaded through the gate)."""
    con = connect_warehouse(tmp_path_factory.mktemp("wh") / "send.duckdb")
    ensure_meta(con)
    for name, text in (("la_lookup.csv", LA_LOOKUP), ("lait_data_dictionary.csv", DICTIONARY)):
        raw = RawFile(name=name, data=text.encode())
        result = load_raw_file(con, raw, SOURCES_BY_TABLE[
            "la_reference" if name.startswith("la_") else "lait_data_dictionary"])
        assert result.status == "loaded", result.message
    yield con
    con.close()


def failed_checks(result) -> set[str]:
    return {r.check for r in result.results if r.success is False}


# --- the suites as files ----------------------------------------------------------------------------------

def test_every_source_has_a_committed_suite_in_sync_with_its_definition():
    stale = build_suites.write_suites(suites_dir(), check_only=True)
    assert not stale, ("expectations/ is out of date for " + ", ".join(stale)
                       + ": run .venv/bin/python -m pipelines.quality.build_suites and review the diff")
    for spec in SOURCES:
        assert (suites_dir() / f"{spec.table}.json").exists(), spec.table


@pytest.mark.parametrize("spec", SOURCES, ids=lambda s: s.table)
def test_suite_loads_in_great_expectations_and_says_what_it_checks(spec):
    import great_expectations as gx

    gx.get_context(mode="ephemeral")
    suite_json = json.loads((suites_dir() / f"{spec.table}.json").read_text())
    suite = gx.ExpectationSuite(**suite_json)
    assert len(suite.expectations) == len(suite_json["expectations"]) >= 1
    checks = [e["meta"]["check"] for e in suite_json["expectations"]]
    assert len(checks) == len(set(checks))
    for expectation in suite_json["expectations"]:
        meta = expectation["meta"]
        assert meta["severity"] in ("fail", "warn")
        assert meta["description"][0].isupper() and meta["failure"]
        assert expectation["severity"] == {"fail": "critical", "warn": "warning"}[meta["severity"]]
    types = {e["type"] for e in suite_json["expectations"]}
    assert "expect_table_row_count_to_be_between" in types
    if spec.key and spec.family in build_suites.FAMILY_BUILDERS:
        assert types & {"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"}


def test_national_suites_cover_the_required_checks():
    for table in ("ehcp_timeliness", "ehcp_caseload", "neet_send", "exclusions", "school_pupils"):
        suite, from_file = load_suite(SOURCES_BY_TABLE[table])
        checks = {e["meta"]["check"] for e in suite["expectations"]}
        assert from_file
        assert {"columns_present", "key_unique", "value_status_known", "period_in_range", "row_count_vs_previous",
                "new_la_code_in_la_reference"} <= checks, table
        assert {"percentages_in_range", "counts_not_negative"} & checks
    timeliness = load_suite(SOURCES_BY_TABLE["ehcp_timeliness"])[0]
    national = [e for e in timeliness["expectations"] if e["meta"]["check"] == "national_equals_sum_of_regions"]
    assert national and national[0]["meta"]["severity"] == "warn"


def test_a_source_without_a_suite_file_gets_generic_checks(tmp_path, monkeypatch, reference_con):
    monkeypatch.setenv("SEND_EXPECTATIONS", str(tmp_path))
    spec = SOURCES_BY_TABLE["ehcp_caseload"]
    suite, from_file = load_suite(spec)
    assert not from_file and suite["meta"]["source"] == "ehcp_caseload"
    result = validate_frame(reference_con, spec, valid_frame("ehcp_caseload", reference_con), "caseload.csv", "h")
    assert result.passed and not result.suite_from_file


# --- every expectation of every suite, broken on its own ---------------------------------------------------

def _cases() -> list[tuple[str, str]]:
    return [(spec.table, e["meta"]["check"]) for spec in SOURCES for e in load_suite(spec)[0]["expectations"]]


@pytest.mark.parametrize("table", [s.table for s in SOURCES])
def test_valid_fixture_passes_its_suite(table, reference_con):
    spec = SOURCES_BY_TABLE[table]
    frame = valid_frame(table, reference_con)
    result = validate_frame(reference_con, spec, frame, "fixture", "valid-" + table)
    assert result.passed, result.message
    assert not failed_checks(result), [r.failure for r in result.results if r.success is False]
    assert all(r.success is not None for r in result.results), [r.check for r in result.results if r.success is None]


def _target_rows(frame: pl.DataFrame, expectation: dict, suite: dict, con) -> list[int]:
    """Positions of rows the expectation looks at (its row condition), local-authority rows first."""
    prepared, _ = add_helpers(frame, suite["meta"].get("helpers", []), con)
    condition = condition_text(expectation["kwargs"])
    data = prepared.with_row_index("i").to_pandas()
    if condition:
        data = data.query(condition)
    column = expectation["kwargs"].get("column")
    if column in data.columns and column != "dq_national_minus_regions":
        data = data[data[column].notna()]
    if column == "dq_whole_number":
        data = data[data["value"].notna()]
    if column == "dq_national_minus_regions":
        data = data[data[column].notna()]
    if "geographic_level" in data.columns:
        data = data.assign(_la=data["geographic_level"] != "Local authority").sort_values(["_la", "i"])
    return [int(i) for i in data["i"]]


def break_expectation(frame: pl.DataFrame, expectation: dict, suite: dict, con) -> pl.DataFrame:
    """`frame` changed so that exactly this expectation fails."""
    kind, kwargs = expectation["type"], expectation["kwargs"]
    column = kwargs.get("column")
    if kind == "expect_table_columns_to_match_set":
        used = set().union(*(expectation_columns(e) for e in suite["expectations"] if e is not expectation))
        return frame.drop(next(c for c in kwargs["column_set"] if c not in used and c in frame.columns))
    if kind == "expect_column_distinct_values_to_contain_set":
        return frame.with_columns(pl.col(column).replace(kwargs["value_set"][0], "renamed_measure"))
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        row = frame[_target_rows(frame, {"kwargs": {}}, suite, con)[0]]
        return pl.concat([frame, row.with_columns(pl.col("source_row") + 1000)])
    position = _target_rows(frame, expectation, suite, con)[0]
    if kind == "expect_column_values_to_not_be_null":
        return frame.with_columns(frame.get_column(column).scatter(position, None))
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        earlier = frame.get_column(kwargs["column_B"])[position] - dt.timedelta(days=1)
        return frame.with_columns(frame.get_column(kwargs["column_A"]).scatter(position, earlier))
    if column == "dq_whole_number":
        return frame.with_columns(frame.get_column("value").scatter(position, frame["value"][position] + 0.5))
    if column == "dq_national_minus_regions":
        return frame.with_columns(frame.get_column("value").scatter(position, frame["value"][position] + 100))
    if column == "dq_period_year":
        helper = next(h for h in suite["meta"]["helpers"] if h["name"] == column)
        return frame.with_columns(frame.get_column(helper["column"]).scatter(position, "1999"))
    if kind == "expect_column_values_to_be_between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        bad = (high + 50) if isinstance(high, int | float) else (low - 5)
        series = frame.get_column(column)
        return frame.with_columns(series.scatter(position, series.dtype.to_python()(bad) if series.dtype.is_integer()
                                                 else float(bad)))
    if kind == "expect_column_values_to_be_in_set":
        bad = "E99999999" if isinstance(kwargs["value_set"], dict) else "bogus"
        return frame.with_columns(frame.get_column(column).scatter(position, bad))
    if kind == "expect_column_values_to_not_be_in_set":
        return frame.with_columns(frame.get_column(column).scatter(position, kwargs["value_set"][0]))
    if kind == "expect_column_values_to_match_regex":
        return frame.with_columns(frame.get_column(column).cast(pl.String).scatter(position, "bogus!"))
    raise AssertionError(f"no way to break {kind}")


@pytest.mark.parametrize(("table", "check"), _cases(), ids=lambda v: v)
def test_each_expectation_catches_its_own_breakage(table, check, reference_con):
    spec = SOURCES_BY_TABLE[table]
    suite = load_suite(spec)[0]
    expectation = next(e for e in suite["expectations"] if e["meta"]["check"] == check)
    frame = valid_frame(table, reference_con)
    if check == "batch_not_empty":  # the SEN2 gate's row count is per batch: an empty batch breaks it
        result = validate_frame(reference_con, spec, frame.head(0), "fixture", "broken-" + check)
    elif expectation["type"] == "expect_table_row_count_to_be_between":
        reference_con.execute("insert into meta.file_loads values (?, 'fixture', 'earlier-hash', null, ?, "
                              "'loaded', '', ?)", [table, frame.height * 10, dt.datetime.now()]).fetchall()
        try:
            result = validate_frame(reference_con, spec, frame, "fixture", "broken-" + check)
        finally:
            reference_con.execute("delete from meta.file_loads where file_sha256 = 'earlier-hash'").fetchall()
    else:
        broken = break_expectation(frame, expectation, suite, reference_con)
        result = validate_frame(reference_con, spec, broken, "fixture", "broken-" + check)
    assert failed_checks(result) == {check}, [r.failure or r.exception for r in result.results if r.success is False]
    outcome = next(r for r in result.results if r.check == check)
    assert outcome.failure and outcome.severity == expectation["meta"]["severity"]
    assert result.passed == (outcome.severity == "warn")
    if expectation["type"].startswith("expect_column_values") and not outcome.exception:
        duplicates = expectation["type"] == "expect_column_values_to_be_unique"  # both rows of the pair
        assert outcome.unexpected_count == (2 if duplicates else 1) and outcome.sample, outcome


# --- the gate inside the loader ------------------------------------------------------------------------------

def _timeliness(override: dict | None = None) -> RawFile:
    return RawFile(name="timeliness_20_week.csv", data=ees_text("ehcp_timeliness", override=override).encode())


def _table_state(con, table: str) -> list:
    return con.execute(f"select * exclude (loaded_at) from raw.{table} order by source_row, measure").fetchall()


def test_failing_file_is_quarantined_and_the_raw_table_keeps_its_data(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    ensure_meta(con)
    spec = SOURCES_BY_TABLE["ehcp_timeliness"]
    assert load_raw_file(con, RawFile(name="la_lookup.csv", data=LA_LOOKUP.encode()),
                         SOURCES_BY_TABLE["la_reference"]).status == "loaded"
    assert load_raw_file(con, _timeliness(), spec).status == "loaded"
    before = _table_state(con, "ehcp_timeliness")

    bad = _timeliness({("E08000007", "pc_plans_issued_20_weeks_ex"): 140.5,
                       ("E09000008", "pc_plans_issued_20_weeks_ex"): 101})
    result = load_raw_file(con, bad, spec)

    assert result.status == "quarantined" and result.rows == 0
    assert result.message.startswith("timeliness_20_week.csv was quarantined: 2 rows have a percentage above 100")
    assert "measure pc_plans_issued_20_weeks_ex" in result.message and "column value" in result.message
    assert _table_state(con, "ehcp_timeliness") == before
    load = con.execute("select status, message from meta.file_loads where file_sha256 = ?", [bad.sha256]).fetchall()
    assert load == [("quarantined", result.message)]
    run = con.execute("select success, failed, rows, source from dq.validation_runs where file_sha256 = ?",
                      [bad.sha256]).fetchall()
    assert run == [(False, 1, 42, "ehcp_timeliness")]
    findings = con.execute(
        "select check_name, severity, unexpected_count, unexpected_sample, description from dq.expectation_results "
        "where file_sha256 = ? and success = false", [bad.sha256]).fetchall()
    assert [(f[0], f[1], f[2]) for f in findings] == [("percentages_in_range", "fail", 2)]
    assert findings[0][4] == "Every percentage is between 0 and 100"
    assert {r["value"] for r in json.loads(findings[0][3])} == {140.5, 101.0}
    files = con.execute("select source, source_file, reasons from quarantine.files").fetchall()
    assert files == [("ehcp_timeliness", "timeliness_20_week.csv", result.message.split(": ", 1)[1])]
    rows = con.execute("select source_row, check_name, row_json from quarantine.rows order by source_row").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(5, "percentages_in_range"), (7, "percentages_in_range")]
    assert json.loads(rows[0][2])["new_la_code"] == "E08000007" and json.loads(rows[0][2])["value"] == 140.5
    # the same bad file again: checked again, quarantined again, table still unchanged
    assert load_raw_file(con, bad, spec).status == "quarantined"
    assert _table_state(con, "ehcp_timeliness") == before
    con.close()


def test_a_release_with_far_fewer_rows_than_the_previous_one_is_quarantined(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    ensure_meta(con)
    spec = SOURCES_BY_TABLE["ehcp_timeliness"]
    assert load_raw_file(con, _timeliness(), spec).status == "loaded"
    before = _table_state(con, "ehcp_timeliness")
    part = ees_text("ehcp_timeliness", geography=GEOGRAPHY[:4])  # England, regions and one LA: 24 of 42 rows
    result = load_raw_file(con, RawFile(name="timeliness_20_week.csv", data=part.encode()), spec)
    assert result.status == "quarantined", result.message
    assert result.message.startswith("timeliness_20_week.csv was quarantined: it has 24 rows, fewer than the 26 "
                                     "expected from the previous load (timeliness_20_week.csv, 42 rows, loaded ")
    assert {r[0] for r in con.execute("select check_name from dq.expectation_results where success = false"
                                      ).fetchall()} == {"row_count_vs_previous"}
    assert _table_state(con, "ehcp_timeliness") == before
    con.close()


def test_warnings_let_the_file_load_and_are_recorded(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    ensure_meta(con)
    national_off = _timeliness({("National", "plans_issued_den"): 101})
    result = load_raw_file(con, national_off, SOURCES_BY_TABLE["ehcp_timeliness"])
    assert result.status == "loaded", result.message
    assert con.execute("select count(*) from raw.ehcp_timeliness").fetchall()[0][0] == 42
    warned = con.execute("select check_name, severity, failure from dq.expectation_results where success = false"
                         ).fetchall()
    assert [(w[0], w[1]) for w in warned] == [("national_equals_sum_of_regions", "warn")]
    assert "national count that differs from the sum of the regions" in warned[0][2]
    for check, observed in con.execute("select check_name, observed_value from dq.expectation_results "
                                       "where success is null").fetchall():  # only without any LA list
        assert check == "new_la_code_in_la_reference" and "no LA reference" in observed
    assert con.execute("select count(*) from quarantine.files").fetchall()[0][0] == 0
    con.close()


def test_large_files_are_checked_on_distinct_values_with_counts_weighted_back_to_rows(reference_con):
    """Over 20,000 rows the value and geography checks run on distinct combinations; unexpected
    counts and quarantined rows must still be rows of the file."""
    spec = SOURCES_BY_TABLE["ehcp_timeliness"]
    base = valid_frame("ehcp_timeliness", reference_con)
    copies = [base.with_columns(pl.lit(f"b{i}").alias("breakdown"), pl.col("source_row") + 100 * i)
              for i in range(600)]
    frame = pl.concat(copies)
    assert frame.height > 20_000
    bad = (pl.col("measure") == "pc_plans_issued_20_weeks_ex") & (pl.col("new_la_code") == "E08000007")
    frame = frame.with_columns(pl.when(bad).then(150.0).otherwise(pl.col("value")).alias("value"),
                               pl.when((pl.col("source_row") == 105) & (pl.col("measure") == "plans_issued_den"))
                               .then(pl.lit("bogus")).otherwise(pl.col("value_status")).alias("value_status"))
    started = time.perf_counter()
    result = validate_frame(reference_con, spec, frame, "timeliness_20_week.csv", "big")
    assert time.perf_counter() - started < 10
    outcomes = {r.check: r for r in result.results if r.success is False}
    assert set(outcomes) == {"percentages_in_range", "value_status_known"}
    assert outcomes["percentages_in_range"].unexpected_count == 600
    assert len(outcomes["percentages_in_range"].positions) == 600
    assert outcomes["value_status_known"].unexpected_count == 1
    rows = frame[outcomes["percentages_in_range"].positions]
    assert set(rows["value"].to_list()) == {150.0} and set(rows["new_la_code"].to_list()) == {"E08000007"}


def test_the_gate_refuses_rather_than_loads_when_it_cannot_run(monkeypatch, reference_con):
    import pipelines.quality.gates as gates

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gates, "_run_suite", broken)
    frame = valid_frame("ehcp_timeliness", reference_con)
    result = validate_frame(reference_con, SOURCES_BY_TABLE["ehcp_timeliness"], frame, "t.csv", "h")
    assert not result.passed and "could not run (RuntimeError: boom)" in result.message


def test_results_and_quarantined_rows_persist_after_the_connection_closes(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    frame = lineage(pl.DataFrame({"source_row": [2, 3], "extract_date": ["2025-03-01"] * 2,
                                  "request_key": ["a", "a"]}), "ehcp_casework_march.csv")
    spec = SOURCES_BY_TABLE.get("local_ehcp_casework")
    if spec is None:
        pytest.skip("no local casework source registered")
    result = validate_frame(con, spec, frame, "ehcp_casework_march.csv", "sha", run_id="run-1")
    record_gate(con, result, frame)
    assert not result.passed and result.run_id == "run-1"
    con.close()
    again = duckdb.connect(str(tmp_path / "send.duckdb"), read_only=True)
    assert again.execute("select run_id, success from dq.validation_runs").fetchall() == [("run-1", False)]
    assert again.execute("select count(*) from quarantine.rows").fetchall()[0][0] == 2
    again.close()


# --- command line -------------------------------------------------------------------------------------------

def test_check_command_prints_findings_and_exits_1_on_a_blocking_failure(tmp_path, monkeypatch):
    from rich.console import Console

    from pipelines.cli import main
    from pipelines.quality import cli_check

    monkeypatch.setattr(cli_check, "out", Console(width=400))
    monkeypatch.setattr(cli_check, "console", Console(width=400, stderr=True))
    monkeypatch.setenv("SEND_WAREHOUSE", str(tmp_path / "none" / "send.duckdb"))
    good, bad = tmp_path / "good" / "timeliness_20_week.csv", tmp_path / "bad" / "timeliness_20_week.csv"
    for path, override in ((good, None), (bad, {("E08000003", "pc_plans_issued_within_20_weeks"): -3})):
        path.parent.mkdir()
        path.write_text(ees_text("ehcp_timeliness", override=override))
    runner = CliRunner()
    ok = runner.invoke(main, ["check", str(good.parent)])
    assert ok.exit_code == 0, ok.output
    assert "Every percentage is between 0 and 100" in ok.output and "passes" in ok.output
    failed = runner.invoke(main, ["check", str(bad)])
    assert failed.exit_code == 1
    assert "would be quarantined" in failed.output and "FAILED" in failed.output
    assert "timeliness_20_week.csv was quarantined: 1 row has a percentage below 0 (column value, measure " \
           "pc_plans_issued_within_20_weeks)" in failed.output
    assert not (tmp_path / "none").exists()  # nothing written


def test_ingest_command_shows_quarantined_files_and_fails(tmp_path, monkeypatch):
    from pipelines.cli import main

    monkeypatch.setenv("SEND_WAREHOUSE", str(tmp_path / "wh" / "send.duckdb"))
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "timeliness_20_week.csv").write_text(
        ees_text("ehcp_timeliness", override={("E08000007", "pc_plans_issued_20_weeks_ex"): 180}))
    result = CliRunner().invoke(main, ["ingest", str(folder)])
    assert result.exit_code == 1
    assert "quarantined" in result.output and "1 of 1 files could not be loaded" in result.output


# --- the real published files -------------------------------------------------------------------------------

@pytest.mark.real_data
@pytest.mark.slow
def test_every_real_file_passes_its_suite(real_warehouse):
    """Every real file went through its suite when the shared real warehouse was loaded (conftest's
    real_warehouse, as a refresh loads them: reference files first): each passed, every check ran
    and every warning is a documented quirk. Read from dq.* rather than validated a second time."""
    from pipelines.ingest.loader import plan_files

    expected = set()
    for raw, spec, failure in plan_files([REAL_DATA]):
        if failure is not None:  # a release zip's supporting files are listed as not a known source
            assert failure.status == "unknown", failure.message
            continue
        expected.add((spec.table, raw.name))
    con = duckdb.connect(str(real_warehouse), read_only=True)
    try:
        runs = con.execute("select run_id, source, source_file, success, message, seconds from dq.validation_runs"
                           ).fetchall()
        results = con.execute("""select r.source, r.source_file, r.check_name, r.severity, r.success, r.reason,
                r.failure from dq.expectation_results as r join dq.validation_runs using (run_id)""").fetchall()
    finally:
        con.close()
    assert {(source, file) for _, source, file, _, _, _ in runs} == expected
    assert len(runs) == len(expected)  # each file validated once
    timings: dict[str, float] = {}
    for _, source, _file, success, message, seconds in runs:
        assert success, message
        timings[source] = timings.get(source, 0) + seconds
    warnings: list[str] = []
    for source, file, check, severity, success, reason, failure in results:
        assert success is not None or source == "la_reference", (file, check)
        if success is False:  # every warning on real data is a documented quirk
            assert severity != "fail", (file, check, failure)
            assert reason or check == "national_equals_sum_of_regions", (file, check, failure)
            warnings.append(f"{file}: {failure}")
    print("\nvalidation seconds per source:", {k: round(v, 2) for k, v in timings.items()},
          f"total {sum(timings.values()):.1f} s")
    print("\n".join(warnings))
    assert len(timings) >= 15
