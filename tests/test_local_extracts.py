"""Local monthly extracts: readers, pseudonymisation, bad inputs, loading, and a personal-data scan."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from demo.local import (
    BAD_LOCAL_EXTRACTS,
    DEMO_PSEUDONYM_KEY,
    generate_local_extracts,
    write_bad_local_extracts,
)
from pipelines.errors import SendScorecardError, SourceFormatError
from pipelines.ingest.loader import connect_warehouse, ingest_paths
from pipelines.ingest.local import (
    LOCAL_LAYOUTS,
    LOCAL_READERS,
    parse_date_text,
    parse_month_text,
    read_extract,
    read_local_casework,
    read_local_exclusions,
    read_local_offer_visits,
    read_local_post16,
    read_local_training,
)
from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE, detect_source

KEY = "test-key-0123456789-abcdef"
CASEWORK_HEADER = (
    "Person ID,UPN,Forename,Surname,Date of Birth,Request ID,Date Request Received,Decision to Assess,"
    "Decision Date,Assessment Outcome,Outcome Date,Plan Issue Date,20 Week Exception,Exception Reason,"
    "Mediation,Mediation Date,Tribunal,Tribunal Date,Current Placement Type,In/Out of Borough,Plan Ceased Date"
)
# Four requests: dd/mm/yyyy, yyyy-mm-dd, Excel serial and yyyymmdd dates; an exception with free text.
CASEWORK_ROWS = (
    "CP1,A123456789012,Olwen,Trefusis,01/02/2012,R1,03/01/2024,Yes,2024-02-10,Plan issued,,45400,N,,N,,N,,"
    "Special school,In borough,",
    "CP2,B123456789013,Peregrine,Ambrose,2013-05-06,R2,45300,No,01/03/2024,,,,,,Y,2024-04-02,,,,,",
    "CP3,,Wilhelmina,Oddie,20100101,R3,01/02/2025,Yes,01/03/2025,Ongoing,,,Y,Family holiday in August,,,,,"
    "Independent special school,OOB,",
    "CP1,A123456789012,Olwen,Trefusis,01/02/2012,R4,2024-06-03,Yes,2024-07-01,EHCP issued,31/10/2024,,,,,,Y,"
    "2025-01-10,Mainstream,In,",
)
PERSONAL_VALUES = ("CP1", "CP2", "CP3", "A123456789012", "B123456789013", "Olwen", "Trefusis", "Peregrine",
                   "Ambrose", "Wilhelmina", "Oddie", "01/02/2012", "2013-05-06", "20100101", "R1", "R2", "R3", "R4",
                   "Family holiday in August")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    return KEY


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def casework_file(folder: Path, *rows: str, name: str = "ehcp_casework_2025-03-31.csv") -> Path:
    return write(folder / name, CASEWORK_HEADER + "\n" + "\n".join(rows or CASEWORK_ROWS) + "\n")


# ---------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize("text, expected", [
    ("03/01/2024", dt.date(2024, 1, 3)), ("3/1/2024", dt.date(2024, 1, 3)), ("03-01-2024", dt.date(2024, 1, 3)),
    ("03.01.2024", dt.date(2024, 1, 3)), ("2024-01-03", dt.date(2024, 1, 3)),
    ("2024-01-03 00:00:00", dt.date(2024, 1, 3)), ("2024-01-03T13:45:00", dt.date(2024, 1, 3)),
    ("20240103", dt.date(2024, 1, 3)), ("45294", dt.date(2024, 1, 3)), ("45294.0", dt.date(2024, 1, 3)),
    ("3 Jan 2024", dt.date(2024, 1, 3)), ("03-Jan-2024", dt.date(2024, 1, 3)), ("3 January 2024", dt.date(2024, 1, 3)),
    ("29/02/2024", dt.date(2024, 2, 29)),
])
def test_accepted_date_formats(text, expected):
    assert parse_date_text(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("31/02/2024", "not a real calendar date"), ("29/02/2023", "not a real calendar date"),
    ("2024-13-01", "not a real calendar date"), ("03/01/24", "two-digit year"), ("2024", "not a date"),
    ("next Tuesday", "not a date"), ("99999999", "not a real calendar date"), ("12/31/2024", "not a real calendar"),
])
def test_rejected_dates_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date_text(text)


@pytest.mark.parametrize("text, expected", [
    ("2025-03", dt.date(2025, 3, 1)), ("03/2025", dt.date(2025, 3, 1)), ("Mar 2025", dt.date(2025, 3, 1)),
    ("March 2025", dt.date(2025, 3, 1)), ("Mar-25", dt.date(2025, 3, 1)), ("31/03/2025", dt.date(2025, 3, 1)),
])
def test_reporting_months(text, expected):
    assert parse_month_text(text) == expected


# ---------------------------------------------------------------------------------------------
# Casework reader


def test_casework_reader_parses_every_date_format_and_spelling(tmp_path, key):
    frame = read_local_casework(casework_file(tmp_path))
    assert frame.height == 4
    rows = {r["source_row"]: r for r in frame.iter_rows(named=True)}
    assert rows[2]["request_received_date"] == dt.date(2024, 1, 3)
    assert rows[2]["plan_issue_date"] == dt.date(2024, 4, 18)  # Excel serial 45400
    assert rows[2]["placement_type"] == "maintained_special" and rows[2]["placement_location"] == "in_borough"
    assert rows[3]["request_received_date"] == dt.date(2024, 1, 9)  # serial 45300
    assert rows[3]["assessment_outcome"] == "not_assessed"  # blank outcome, decision 'No'
    assert rows[3]["mediation"] and rows[3]["mediation_date"] == dt.date(2024, 4, 2)
    assert rows[4]["exception_flag"] and rows[4]["exception_reason_given"]
    assert rows[4]["assessment_outcome"] == "ongoing" and rows[4]["placement_type"] == "independent_special"
    assert rows[4]["age_at_request"] == 15 and rows[4]["age_band_at_request"] == "11 to 15"
    # outcome 'plan issued' with only an outcome date: the plan issue date is taken from it
    assert rows[5]["plan_issue_date"] == dt.date(2024, 10, 31) and rows[5]["assessment_outcome"] == "plan_issued"
    assert frame["extract_date"].unique().to_list() == [dt.date(2025, 3, 31)]  # from the file name


def test_casework_xlsx_with_title_rows_date_cells_and_serial_numbers(tmp_path, key):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["EHCP casework report - run 31/03/2025"])
    sheet.append([])
    sheet.append(["Child ID", "Unique Pupil Number", "Child Name", "DOB", "Request Ref", "Request Date", "Outcome",
                  "Final plan date", "Extract date"])
    sheet.append([1001, "A123456789012", "Olwen Trefusis", dt.date(2012, 2, 1), "R1", dt.date(2024, 1, 3),
                  "Plan issued", 45400, dt.date(2025, 3, 31)])
    sheet.append([1002, None, "Peregrine Ambrose", "06/05/2013", "R2", "2024-01-09", "Withdrawn", None,
                  dt.date(2025, 3, 31)])
    path = tmp_path / "ehcp_casework.xlsx"
    workbook.save(path)
    frame = read_local_casework(path)
    assert frame["source_row"].to_list() == [4, 5]  # sheet rows, blank row included
    assert frame["plan_issue_date"].to_list() == [dt.date(2024, 4, 18), None]
    assert frame["extract_date"].to_list() == [dt.date(2025, 3, 31)] * 2
    assert frame["assessment_outcome"].to_list() == ["plan_issued", "withdrawn"]
    # 1001 read from a numeric Excel cell hashes like the text '1001' from a CSV
    csv = write(tmp_path / "csv" / "ehcp_casework_2025-03-31.csv",
                "Person ID,DOB,Request ID,Request date,Outcome\n1001,01/02/2012,R1,03/01/2024,Ongoing\n")
    assert read_local_casework(csv)["person_key"][0] == frame["person_key"][0]


def test_casework_needs_an_extract_date(tmp_path, key):
    path = write(tmp_path / "ehcp_casework_latest.csv",
                 "Person ID,DOB,Request ID,Request date,Outcome\nCP1,01/02/2012,R1,03/01/2024,Ongoing\n")
    with pytest.raises(SourceFormatError, match="cannot tell the extract date"):
        read_local_casework(path)


def test_exact_duplicate_rows_are_dropped_with_a_warning(tmp_path, key, caplog):
    rows = (*CASEWORK_ROWS, CASEWORK_ROWS[0])
    with caplog.at_level(logging.WARNING):
        frame = read_local_casework(casework_file(tmp_path, *rows))
    assert frame.height == 4
    assert "1 row(s) exactly repeat an earlier row and were dropped (rows 6)" in caplog.text
    assert "Olwen" not in caplog.text and "CP1" not in caplog.text


def test_conflicting_duplicate_request_ids_name_the_rows(tmp_path, key):
    changed = CASEWORK_ROWS[0].replace("03/01/2024", "04/01/2024")
    with pytest.raises(SourceFormatError) as error:
        read_local_casework(casework_file(tmp_path, *CASEWORK_ROWS, changed))
    message = str(error.value)
    assert "ehcp_casework_2025-03-31.csv (row 2, column 'Request ID')" in message
    assert "rows 2, 6" in message and "'Date Request Received' differs" in message
    assert "R1" not in message.replace("(row", "")  # the id itself is not quoted


def test_unparseable_date_names_file_row_and_column_never_the_value(tmp_path, key):
    bad = CASEWORK_ROWS[1].replace("45300", "31/02/2024")
    with pytest.raises(SourceFormatError) as error:
        read_local_casework(casework_file(tmp_path, CASEWORK_ROWS[0], bad))
    assert str(error.value) == ("ehcp_casework_2025-03-31.csv (row 3, column 'Date Request Received'): "
                                "the value (not shown: cells of local extracts are never quoted) is not a real "
                                "calendar date")


def test_bad_date_of_birth_is_reported_without_the_value(tmp_path, key):
    bad = CASEWORK_ROWS[1].replace("2013-05-06", "31/02/2013")
    with pytest.raises(SourceFormatError) as error:
        read_local_casework(casework_file(tmp_path, bad))
    message = str(error.value)
    assert "(row 2, column 'Date of Birth')" in message and "not shown" in message
    assert "31/02/2013" not in message


def test_missing_required_column_is_named_with_its_accepted_spellings(tmp_path, key):
    path = write(tmp_path / "ehcp_casework_2025-03-31.csv",
                 "Person ID,Request ID,Date Request Received,Assessment Outcome\nCP1,R1,03/01/2024,Ongoing\n")
    with pytest.raises(SourceFormatError, match=r"lacks the required column\(s\) 'date_of_birth' \(also: dob"):
        read_local_casework(path)


@pytest.mark.parametrize("row, column, problem", [
    (CASEWORK_ROWS[0].replace("45400", "01/01/2024"), "Plan Issue Date", "before the request received date"),
    (CASEWORK_ROWS[0].replace("Plan issued", "Withdrawn"), "Assessment Outcome", "no plan was issued"),
    (CASEWORK_ROWS[0].replace("45400", "01/05/2025"), "Plan Issue Date", "after the extract date"),
    (CASEWORK_ROWS[0].replace("Special school", "Castle"), "Current Placement Type", "not a known placement type"),
    (CASEWORK_ROWS[0].replace(",N,,N,,N,", ",maybe,,N,,N,"), "20 Week Exception", "not yes or no"),
    (CASEWORK_ROWS[0].replace(",R1,", ",,"), "Request ID", "the request id is blank"),
    (CASEWORK_ROWS[0].replace("CP1,", " ,"), "Person ID", "the person id is blank"),
])
def test_casework_consistency_rules(tmp_path, key, row, column, problem):
    with pytest.raises(SourceFormatError) as error:
        read_local_casework(casework_file(tmp_path, row))
    assert f"(row 2, column '{column}')" in str(error.value) and problem in str(error.value)


# ---------------------------------------------------------------------------------------------
# Pseudonymisation


def test_identifiers_become_keyed_hashes(tmp_path, monkeypatch):
    path = casework_file(tmp_path)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    first = read_local_casework(path)
    again = read_local_casework(path)
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY + "-rotated")
    other = read_local_casework(path)
    assert first["person_key"].to_list() == again["person_key"].to_list()
    assert set(first["person_key"]).isdisjoint(set(other["person_key"]))
    assert set(first["request_key"].drop_nulls()).isdisjoint(set(other["request_key"].drop_nulls()))
    expected = hmac.new(KEY.encode(), b"person\x1fCP1", hashlib.sha256).hexdigest()
    assert first["person_key"][0] == expected
    # same person, same hash: CP1 made two requests; UPN and person id hash in different namespaces
    assert first["person_key"][0] == first["person_key"][3]
    assert first["upn_key"][0] != hmac.new(KEY.encode(), b"person\x1fA123456789012", hashlib.sha256).hexdigest()
    assert first["upn_key"][2] is None


def test_output_frames_hold_no_names_upns_dates_of_birth_or_free_text(tmp_path, key):
    frame = read_local_casework(casework_file(tmp_path))
    assert not {"person_id", "upn", "forename", "surname", "name", "date_of_birth", "request_id",
                "exception_reason"} & set(frame.columns)
    cells = {str(v) for column in frame.columns for v in frame[column].to_list()}
    for value in PERSONAL_VALUES:
        assert value not in cells
    births = {dt.date(2012, 2, 1), dt.date(2013, 5, 6), dt.date(2010, 1, 1)}
    for column in frame.columns:
        if frame[column].dtype == pl.Date:
            assert births.isdisjoint(set(frame[column].to_list())), column


def test_unknown_columns_are_left_behind(tmp_path, key):
    path = write(tmp_path / "ehcp_casework_2025-03-31.csv",
                 "Person ID,DOB,Request ID,Request date,Outcome,Home address,Postcode\n"
                 "CP1,01/02/2012,R1,03/01/2024,Ongoing,1 Acacia Avenue,SK1 1AA\n")
    frame = read_local_casework(path)
    assert "SK1 1AA" not in str(frame.rows()) and "Acacia" not in str(frame.rows())


@pytest.mark.parametrize("table", [t for t in LOCAL_LAYOUTS if t != "local_offer_visits"])
def test_readers_refuse_without_the_key(tmp_path, monkeypatch, table):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    with pytest.raises(SendScorecardError) as error:
        LOCAL_READERS[table](casework_file(tmp_path))
    assert str(error.value).startswith("Local extracts hold personal data: set SEND_PSEUDONYM_KEY to a secret of "
                                       "at least 16 characters (keep it out of the repository")


def test_a_short_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "tooshort")
    with pytest.raises(SendScorecardError, match="shorter than 16 characters"):
        read_local_casework(casework_file(tmp_path))


def test_loading_without_the_key_fails_the_file_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    con = connect_warehouse(tmp_path / "w.duckdb")
    [result] = ingest_paths(con, [casework_file(tmp_path / "raw")])
    assert result.status == "failed" and "set SEND_PSEUDONYM_KEY" in result.message
    assert not con.execute("select count(*) from information_schema.tables where table_name = "
                           "'local_ehcp_casework'").fetchall()[0][0]


# ---------------------------------------------------------------------------------------------
# The other layouts


def test_exclusions_log(tmp_path, key):
    path = write(tmp_path / "exclusions_log_2024-25.csv",
                 "Pupil ID,UPN,Pupil Name,DOB,School,Start Date,Category,Sessions,SEN Provision\n"
                 "PU1,A123456789012,Olwen Trefusis,01/02/2012,Marple High School,02/09/2024,Fixed Term,2,E\n"
                 "PU2,,Peregrine Ambrose,,Marple High School,45600,PEX,,SEN Support\n"
                 ",B123456789013,,,Romiley Academy,2024-10-01,Suspension,\"1.5\",\n")
    frame = read_local_exclusions(path)
    assert frame["exclusion_type"].to_list() == ["suspension", "permanent", "suspension"]
    assert frame["sen_provision"].to_list() == ["ehc_plan", "sen_support", "not_recorded"]
    assert frame["sessions"].to_list() == [2.0, None, 1.5]
    assert frame["academic_year"].to_list() == ["202425"] * 3
    assert frame["month"].to_list() == [dt.date(2024, 9, 1), dt.date(2024, 11, 1), dt.date(2024, 10, 1)]
    assert frame["age_at_exclusion"].to_list() == [12, None, None]
    assert frame["pupil_key"][2] is None and frame["upn_key"][2] is not None


def test_exclusions_log_needs_a_pupil_id_or_upn(tmp_path, key):
    path = write(tmp_path / "exclusions_log_2024-25.csv",
                 "School,Start Date,Category,SEN Provision\nMarple High School,02/09/2024,Suspension,N\n")
    with pytest.raises(SourceFormatError, match="needs at least one of the columns 'pupil_id', 'upn'"):
        read_local_exclusions(path)


def test_ga4_export_with_comment_lines_totals_and_thousands(tmp_path, monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)  # no personal data: no key needed
    path = write(tmp_path / "local_offer_visits_2025-03.csv",
                 "# ----------------------------------------\n# Pages and screens\n# Start date: 20250301\n\n"
                 "Page path and screen class,Date,Views,Sessions,Total users\n"
                 "Grand total,,\"1,300\",1100,1000\n"
                 "/localoffer,20250301,\"1,234\",1000,900\n"
                 "/localoffer/transport,20250302,66,50,40\n")
    frame = read_local_offer_visits(path)
    assert frame["source_row"].to_list() == [7, 8]
    assert frame["page_views"].to_list() == [1234, 66]
    assert frame["visit_date"].to_list() == [dt.date(2025, 3, 1), dt.date(2025, 3, 2)]


def test_web_counts_must_be_whole_numbers(tmp_path):
    path = write(tmp_path / "web_analytics_2025-03.csv", "Date,Page,Views,Visits,Users\n2025-03-01,/x,1.5,1,1\n")
    with pytest.raises(SourceFormatError, match=r"row 2, column 'Views'\): the value \(not shown.*\) is not a whole number"):
        read_local_offer_visits(path)


def test_training_records_keep_completions_only(tmp_path, key):
    path = write(tmp_path / "training_records_2025-03.csv",
                 "Employee Number,Learner Name,Email,Course Title,Completion Date,Team\n"
                 "E1,Olwen Trefusis,olwen@example.gov.uk,Autism awareness,03/03/2025,SEND Team\n"
                 "E2,Peregrine Ambrose,p@example.gov.uk,Autism awareness,,SEND Team\n")
    frame = read_local_training(path)
    assert frame.height == 1 and frame["completed_date"][0] == dt.date(2025, 3, 3)
    assert "olwen@example.gov.uk" not in str(frame.rows())


def test_post16_month_from_file_name_and_activity_codes(tmp_path, key):
    path = write(tmp_path / "nccis_post16_2025-03.csv",
                 "CCIS ID,Forename,DOB,SEND,Activity Code\n"
                 "YP1,Olwen,01/10/2008,EHCP,130\n"
                 "YP2,Peregrine,15/11/2008,K,Supported internship\n"
                 "YP3,Wilhelmina,01/01/2000,E,540.0\n")
    frame = read_local_post16(path)
    assert frame["month"].to_list() == [dt.date(2025, 3, 1)] * 3
    assert frame["activity"].to_list() == ["education", "supported_internship", "neet"]
    assert frame["nccis_activity_code"].to_list() == ["130", None, "540"]
    assert frame["send_status"].to_list() == ["ehcp", "sen_support", "ehcp"]
    assert frame["academic_age"].to_list() == [15, 15, 24] and frame["age_at_month_end"].to_list() == [16, 16, 25]


def test_unknown_activity_word_names_row_and_column(tmp_path, key):
    path = write(tmp_path / "post16_2025-03.csv", "YP ID,DOB,SEND status,Activity\nYP1,01/10/2008,EHCP,Gardening\n")
    with pytest.raises(SourceFormatError, match=r"\(row 2, column 'Activity'\): the value \(not shown.*\) is not a known activity"):
        read_local_post16(path)


def test_post16_young_person_twice_in_a_month(tmp_path, key):
    path = write(tmp_path / "nccis_post16_2025-03.csv",
                 "CCIS ID,DOB,SEND,Activity Code\nYP1,01/10/2008,EHCP,130\nYP1,01/10/2008,EHCP,540\n")
    with pytest.raises(SourceFormatError, match="young person id \\(in the same month\\) appears on rows 2, 3"):
        read_local_post16(path)


@pytest.mark.parametrize("problem", sorted(BAD_LOCAL_EXTRACTS))
def test_bad_fixtures_fail_with_a_clear_message(tmp_path, key, problem):
    path = write_bad_local_extracts(tmp_path)[problem]
    spec = detect_source(path.name)
    with pytest.raises(SourceFormatError) as error:
        LOCAL_READERS[spec.table](path)
    expected = BAD_LOCAL_EXTRACTS[problem][2]
    assert str(error.value).startswith(path.name) and expected in str(error.value)


# ---------------------------------------------------------------------------------------------
# Registry and loading


def test_local_sources_are_registered_with_the_layouts_required_columns():
    for table, layout in LOCAL_LAYOUTS.items():
        assert SOURCES_BY_TABLE[table].required == layout.required


@pytest.mark.parametrize("name, table", [
    ("ehcp_casework_2025-03-31.csv", "local_ehcp_casework"), ("EHC_casework.xlsx", "local_ehcp_casework"),
    ("exclusions_log_2024-25.csv", "local_exclusions"), ("suspensions_log.xlsx", "local_exclusions"),
    ("local_offer_visits_2025-03.csv", "local_offer_visits"), ("web_analytics_march.csv", "local_offer_visits"),
    ("training_records_2025-03.xlsx", "local_training"), ("nccis_post16_2025-03.csv", "local_post16_tracking"),
    ("post16_tracking.xlsx", "local_post16_tracking"),
    # national files keep their sources
    ("exc_2023.csv", "exclusions"), ("caseload.csv", "ehcp_caseload"), ("neetnk_2024.csv", "neet_send"),
])
def test_file_names_find_their_source(name, table):
    assert detect_source(name).table == table


def test_a_bad_extract_never_loses_what_was_loaded(tmp_path, key):
    con = connect_warehouse(tmp_path / "w.duckdb")
    good = casework_file(tmp_path / "good")
    excl = write(tmp_path / "good" / "exclusions_log_2024-25.csv",
                 "Pupil ID,School,Start Date,Category,Sessions,SEN Provision\n"
                 "PU1,Marple High School,02/09/2024,Suspension,2,E\nPU2,Romiley Academy,03/10/2024,Suspension,1,N\n")
    assert [r.status for r in ingest_paths(con, [good, excl])] == ["loaded", "loaded"]
    before = {t: con.execute(f"select * from raw.{t} order by source_row").fetchall()
              for t in ("local_ehcp_casework", "local_exclusions")}
    # a newer casework snapshot with an impossible date, and a corrected exclusions log with one
    bad_case = casework_file(tmp_path / "bad", CASEWORK_ROWS[0].replace("03/01/2024", "32/01/2024"),
                             name="ehcp_casework_2025-04-30.csv")
    bad_excl = write(tmp_path / "bad" / "exclusions_log_2024-25.csv",
                     "Pupil ID,School,Start Date,Category,Sessions,SEN Provision\n"
                     "PU1,Marple High School,31/09/2024,Suspension,2,E\n")
    results = ingest_paths(con, [bad_case, bad_excl])
    assert [r.status for r in results] == ["failed", "failed"]
    assert "row 2, column 'Date Request Received'" in results[0].message
    assert "row 2, column 'Start Date'): the value (not shown: cells of local extracts are never quoted) is not a real calendar date" in results[1].message
    for table, rows in before.items():
        assert con.execute(f"select * from raw.{table} order by source_row").fetchall() == rows
    failures = con.execute("select source, status from meta.file_loads where status = 'failed'").fetchall()
    assert sorted(failures) == [("local_ehcp_casework", "failed"), ("local_exclusions", "failed")]
    # a good newer snapshot is added beside the earlier one (snapshots are kept by extract date)
    newer = casework_file(tmp_path / "newer", *CASEWORK_ROWS[:3], name="ehcp_casework_2025-04-30.csv")
    assert ingest_paths(con, [newer])[0].status == "loaded"
    assert con.execute("select extract_date, count(*) from raw.local_ehcp_casework group by 1 order by 1"
                       ).fetchall() == [(dt.date(2025, 3, 31), 4), (dt.date(2025, 4, 30), 3)]


# ---------------------------------------------------------------------------------------------
# The demo set: loads cleanly, is deterministic, and leaves no personal data in the warehouse


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)
        files = generate_local_extracts(raw, seed=7, months=4)
        con = connect_warehouse(raw.parent / "demo.duckdb")
        results = ingest_paths(con, [raw])
    yield raw, files, con, results
    con.close()


def test_demo_extracts_all_load(demo_warehouse):
    _, files, con, results = demo_warehouse
    assert len(results) == len(files)
    assert [r.message for r in results if r.status != "loaded"] == []
    counts = dict(con.execute("select source, sum(rows) from meta.file_loads group by 1").fetchall())
    assert counts["local_ehcp_casework"] == 10_000
    assert counts["local_exclusions"] >= 49_000 and counts["local_offer_visits"] >= 100_000


def _personal_values(raw: Path) -> tuple[set[str], set[str], dict[tuple[str, int], dt.date]]:
    """The demo files' identifiers and free text, the words of their names, and each row's date of birth."""
    values: set[str] = set()
    names: set[str] = set()
    births: dict[tuple[str, int], dt.date] = {}
    for path in sorted((raw / "local").iterdir()):
        spec = detect_source(path.name)
        extract, text = read_extract(RawFile.from_path(path), LOCAL_LAYOUTS[spec.table])
        for column in extract.layout.columns:
            if column.personal and column.kind != "dob":
                values |= set(text[column.name].drop_nulls().to_list())
            if column.kind == "name" and column.name != "email":
                names |= {w for v in text[column.name].drop_nulls().to_list() for w in v.split()}
        if "date_of_birth" in extract.headers:
            for row, value in text.select("source_row", "date_of_birth").drop_nulls().iter_rows():
                births[(path.name, row)] = parse_date_text(value)
    return values, names, births


def test_no_personal_data_reaches_the_warehouse(demo_warehouse):
    raw, _, con, _ = demo_warehouse
    words, names, births = _personal_values(raw)
    assert len(words) > 10_000 and len(names) > 50 and len(births) > 50_000
    columns = con.execute("select table_schema, table_name, column_name, data_type from information_schema.columns "
                          "where table_schema in ('raw', 'meta')").fetchall()
    for schema, table, column, data_type in columns:
        if data_type == "VARCHAR":
            values = {v for (v,) in con.execute(f'select distinct "{column}" from {schema}.{table}').fetchall()
                      if v is not None}
            assert not values & words, f"{schema}.{table}.{column} holds identifiers"
            tokens = {t for v in values for t in re.findall(r"[A-Z][a-z]+", v)}
            assert not tokens & names, f"{schema}.{table}.{column} holds names"
            assert not any(re.search(r"[A-Z]\d{12}", v) for v in values), f"{schema}.{table}.{column} holds UPNs"
        if data_type == "DATE" and schema == "raw":
            rows = con.execute(f'select source_file, source_row, "{column}" from raw.{table}').fetchall()
            same = sum(1 for file, row, value in rows if value is not None and births.get((file, row)) == value)
            assert same == 0, f"raw.{table}.{column} equals the date of birth on {same} rows"


def test_demo_is_deterministic_by_seed(tmp_path):
    first = generate_local_extracts(tmp_path / "a", seed=3, months=2, use_demo_key=False)
    second = generate_local_extracts(tmp_path / "b", seed=3, months=2, use_demo_key=False)
    other = generate_local_extracts(tmp_path / "c", seed=4, months=2, use_demo_key=False)
    assert [p.name for p in first] == [p.name for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))
    assert first[0].read_bytes() != other[0].read_bytes()


def test_the_documentation_covers_every_column_and_bad_fixture():
    text = (Path(__file__).resolve().parents[1] / "docs" / "local-extracts.md").read_text(encoding="utf-8")
    for table, layout in LOCAL_LAYOUTS.items():
        assert f"raw.{table}" in text
        for column in layout.columns:
            assert f"`{column.name}`" in text, column.name
    for problem, (name, _, message) in BAD_LOCAL_EXTRACTS.items():
        assert f"`{problem}`" in text and name in text and message in text
