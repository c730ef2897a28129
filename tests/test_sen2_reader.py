"""The SEN2 person-level readers: XML (streaming) and flat export, versions, pseudonymisation, clear errors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo.sen2 import (
    PublishedFigures,
    census_date,
    synthesise_return,
    write_sen2_flat_export,
    write_sen2_xml,
)
from pipelines.errors import SourceFormatError
from pipelines.ingest.sen2.load import load_sen2, sen2_inputs
from pipelines.ingest.sen2.rows import uln_check_digit_ok, upn_check_letter_ok
from pipelines.ingest.sen2.validate import validate_batch
from pipelines.ingest.sen2.xml_reader import Sen2XmlReader

KEY = "test-key-for-sen2-reader-tests"
REFERENCE, EXTRACT = census_date(2025), dt.date(2025, 6, 30)
FIGURES = PublishedFigures(
    "356", requests={2023: 90, 2024: 100}, plans={2023: 40, 2024: 45}, plans_ex={2023: 38, 2024: 44},
    within={2023: 20, 2024: 30}, within_ex={2023: 19, 2024: 29}, mediation={2023: 3, 2024: 4},
    tribunal={2023: 1, 2024: 2}, caseload={2023: 300, 2024: 320, 2025: 350})


@pytest.fixture(scope="module")
def persons() -> list[dict]:
    return synthesise_return(FIGURES, seed=7)


def read_all(path: Path, **kwargs) -> tuple[Sen2XmlReader, dict[str, pl.DataFrame]]:
    reader = Sen2XmlReader(path, key=KEY, expected_la={"356"}, **kwargs)
    batches = list(reader.batches())
    return reader, {t: pl.concat([b[t] for b in batches]) for t in batches[0]}


def sorted_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("source_row").sort(frame.drop("source_row").columns, nulls_last=True)


def test_xml_round_trip_in_batches(tmp_path, persons):
    path = write_sen2_xml(tmp_path / "sen2.xml", persons, "356", REFERENCE, EXTRACT)
    reader, frames = read_all(path, batch_persons=97)
    assert reader.header.persons == len(persons) == frames["sen2_persons"].height
    assert frames["sen2_requests"].height == sum(len(p["Requests"]) for p in persons)
    assert reader.header.spec_version == "1.3"  # RequestSource / PhaseTransfer items
    assert reader.header.reference_date == REFERENCE and reader.header.extract_date == EXTRACT
    plans = frames["sen2_requests"].filter(pl.col("has_named_plan"))
    assert plans.height == sum(1 for p in persons for r in p["Requests"] if "NamedPlan" in r.get("Assessment", {}))
    # the same file read in one batch gives the same rows
    _, whole = read_all(path, batch_persons=100_000)
    for table in frames:
        assert sorted_frame(frames[table]).equals(sorted_frame(whole[table]))


def test_both_spellings_of_plan_wbp_read_alike(tmp_path, persons):
    marked = [dict(p) for p in persons[:30]]
    for person in marked:
        for request in person["Requests"]:
            plan = request.get("Assessment", {}).get("NamedPlan")
            if plan is not None:
                plan["PlanWBP"] = "Y"
    a = write_sen2_xml(tmp_path / "wbp.xml", marked, "356", REFERENCE, EXTRACT, wbp_spelling="PlanWBP")
    b = write_sen2_xml(tmp_path / "wpb.xml", marked, "356", REFERENCE, EXTRACT, wbp_spelling="PlanWPB")
    assert "<PlanWPB>" in b.read_text() and "<PlanWPB>" not in a.read_text()
    _, rows_a = read_all(a)
    _, rows_b = read_all(b)
    assert rows_a["sen2_requests"]["plan_wbp"].drop_nulls().len() > 0
    assert rows_a["sen2_requests"].equals(rows_b["sen2_requests"])


def test_flat_export_gives_the_same_rows_as_the_xml(tmp_path, persons):
    xml = write_sen2_xml(tmp_path / "sen2.xml", persons, "356", REFERENCE, EXTRACT)
    write_sen2_flat_export(tmp_path / "flat", persons, "356", REFERENCE, EXTRACT)
    _, from_xml = read_all(xml)
    groups = sen2_inputs([tmp_path / "flat"])
    assert len(groups) == 1 and len(groups[0]) == 9
    from pipelines.ingest.sen2.flat_reader import Sen2FlatReader

    flat = Sen2FlatReader(groups[0], key=KEY, expected_la={"356"})
    batches = list(flat.batches())
    from_flat = {t: pl.concat([b[t] for b in batches]) for t in batches[0]}
    assert flat.header.reference_date == REFERENCE
    for table in from_xml:
        assert sorted_frame(from_xml[table]).equals(sorted_frame(from_flat[table])), table


def test_versions_are_told_apart_by_their_items(tmp_path, persons):
    sample = persons[:20]
    v13 = write_sen2_xml(tmp_path / "v13.xml", sample, "356", REFERENCE, EXTRACT)
    text = v13.read_text()
    v12_text = re.sub(r"\s*<(RequestSource|PhaseTransferDueDate|PhaseTransferFinalDate|ReviewDraft)>[^<]*</\1>", "",
                      text)
    (tmp_path / "v12.xml").write_text(v12_text)
    v11_text = v12_text.replace("<Sex>", "<GenderCurrent>").replace("</Sex>", "</GenderCurrent>")
    v11_text = re.sub(r"\s*<(ReviewMeeting|ReviewOutcome)>[^<]*</\1>", "", v11_text)
    (tmp_path / "v11.xml").write_text(v11_text)
    assert read_all(v13)[0].header.spec_version == "1.3"
    assert read_all(tmp_path / "v12.xml")[0].header.spec_version == "1.2"
    reader, frames = read_all(tmp_path / "v11.xml")
    assert reader.header.spec_version == "1.1"
    assert frames["sen2_persons"]["sex"].drop_nulls().len() == len(sample)  # GenderCurrent read as sex
    mixed = v11_text.replace("<ReceivedDate>", "<RequestSource>1</RequestSource><ReceivedDate>", 1)
    (tmp_path / "mixed.xml").write_text(mixed)
    with pytest.raises(SourceFormatError, match=r"mixes items of specification versions.*GenderCurrent|"
                                                r"mixes items of specification versions.*gendercurrent"):
        read_all(tmp_path / "mixed.xml")


def test_identifiers_never_leave_the_reader(tmp_path, persons):
    path = write_sen2_xml(tmp_path / "sen2.xml", persons, "356", REFERENCE, EXTRACT)
    _, frames = read_all(path)
    secrets = {v for p in persons for k, v in p.items()
               if k in ("UPN", "UniqueLearnerNumber", "Surname", "Forename", "PersonBirthDate", "PostCode")}
    assert secrets
    for table, frame in frames.items():
        for column in frame.columns:
            if frame[column].dtype == pl.String:
                assert not secrets & set(frame[column].drop_nulls().to_list()), (table, column)
        assert not {"upn", "uln", "surname", "forename", "birth_date", "postcode"} & set(frame.columns)
    keys = frames["sen2_persons"]["person_key"]
    assert keys.n_unique() == keys.len() and keys.str.len_chars().min() == 64
    # the same person gets the same key in another read with the same key, a different one with another key
    assert read_all(path)[1]["sen2_persons"]["person_key"].equals(keys)
    other = Sen2XmlReader(path, key="another-key-of-sufficient-length", expected_la={"356"})
    assert not set(pl.concat([b["sen2_persons"] for b in other.batches()])["person_key"]) & set(keys)


@pytest.mark.parametrize("mutate, pattern", [
    (lambda t: t[: len(t) // 2], r"sen2\.xml: the XML is malformed at line \d+, column \d+"),
    (lambda t: re.sub(r"<Persons>.*</Persons>", "", t, flags=re.S), r"Message/Persons: the return has no <Persons>"),
    (lambda t: re.sub(r"<Header>.*</Header>", "", t, flags=re.S), r"no <Header>"),
    (lambda t: t.replace("<LEA>356</LEA>", "<LEA>357</LEA>"), r"<LEA>: the return belongs to LA 357, not to "),
    (lambda t: t.replace("<Week20>", "<Week21>1</Week21><Week20>", 1),
     r"Person \d+, Requests 1, Assessment: the element <Week21> in Assessment is not part of the SEN2"),
    (lambda t: t.replace("<Message>", "<Return>").replace("</Message>", "</Return>"), r"root element is not"),
    (lambda t: re.sub(r"<ReceivedDate>[^<]*</ReceivedDate>", "<ReceivedDate>31/02/2024</ReceivedDate>", t, count=1),
     r"Person \d+, Requests 1 <ReceivedDate>: the value \(not shown: cells of local extracts are never quoted\) "
     r"is not a date"),
])
def test_bad_files_fail_with_one_sentence(tmp_path, persons, mutate, pattern):
    path = write_sen2_xml(tmp_path / "sen2.xml", persons[:50], "356", REFERENCE, EXTRACT)
    path.write_text(mutate(path.read_text()))
    with pytest.raises(SourceFormatError, match=pattern) as info:
        read_all(path)
    message = str(info.value)
    assert message.count("\n") == 0 and message.startswith("sen2.xml")
    for person in persons[:50]:  # no identifier in the message
        assert person.get("UPN", "@@") not in message and person["Surname"] not in message


def test_bad_birth_date_is_not_quoted(tmp_path, persons):
    path = write_sen2_xml(tmp_path / "sen2.xml", persons[:5], "356", REFERENCE, EXTRACT)
    text = re.sub(r"<PersonBirthDate>[^<]*</PersonBirthDate>", "<PersonBirthDate>2011-13-40</PersonBirthDate>",
                  path.read_text(), count=1)
    path.write_text(text)
    with pytest.raises(SourceFormatError, match=r"Person 1 <PersonBirthDate>: the value \(not shown") as info:
        read_all(path)
    assert "2011-13-40" not in str(info.value)


NAME_IN_A_CELL = "Olwen Pritchard"


@pytest.mark.parametrize("element, where", [
    ("Week20", r"Person \d+, Requests 1 <Week20>"),  # a yes/no item
    ("Year", r"<Year>"),  # a header item
    ("ReceivedDate", r"Person \d+, Requests 1 <ReceivedDate>"),  # a date item
    ("Collection", r"<Collection>"),
    ("LEA", r"<LEA>"),
])
def test_no_message_quotes_a_cell_of_the_return(tmp_path, persons, element, where):
    """A name typed into any item by mistake is described by where it is and what is wrong with it, never
    shown: not in the error, not in meta.file_loads."""
    path = write_sen2_xml(tmp_path / "sen2.xml", persons[:5], "356", REFERENCE, EXTRACT)
    path.write_text(re.sub(rf"<{element}>[^<]*</{element}>", f"<{element}>{NAME_IN_A_CELL}</{element}>",
                           path.read_text(), count=1))
    con = duckdb.connect()
    result = load_sen2(con, [path], key=KEY, expected_la={"356"})
    assert result.status == "failed" and re.search(where, result.message), result.message
    stored = con.execute("select string_agg(message, ' ') from meta.file_loads").fetchone()[0]
    assert NAME_IN_A_CELL not in result.message and NAME_IN_A_CELL not in stored
    assert "Olwen" not in result.message


def test_a_return_extracted_in_the_future_is_refused(tmp_path, persons):
    path = write_sen2_xml(tmp_path / "sen2.xml", persons[:5], "356", REFERENCE, dt.date(2052, 6, 30))
    result = load_sen2(duckdb.connect(), [path], key=KEY, expected_la={"356"})
    assert result.status == "failed"
    assert "<DateTime>: the return's extract date is in the future (today is" in result.message


def test_flat_export_missing_module_names_it(tmp_path, persons):
    files = write_sen2_flat_export(tmp_path / "flat", persons[:10], "356", REFERENCE, EXTRACT)
    (tmp_path / "flat" / f"Blade-Export_{EXTRACT:%d-%m-%Y}_assessment.csv").unlink()
    con = duckdb.connect()
    result = load_sen2(con, [f for f in files if f.exists()], key=KEY, expected_la={"356"})
    assert result.status == "failed"
    assert re.match(r"Blade-Export_30-06-2025 \(SEN2 flat export\): the module 'assessment' is missing",
                    result.message)
    assert con.execute("select count(*) from meta.file_loads where status = 'failed'").fetchall() == [(1,)]


def test_upn_and_uln_check_characters():
    # 2x2 + 4x7 + 9x1 + 10x6 + 12x4 + 13x9 = 266 = 11 x 23 + 13 -> P (A=0 ... N=12, P=13; I, O, S skipped)
    assert upn_check_letter_ok("P207000016049")
    assert not upn_check_letter_ok("B207000016049") and not upn_check_letter_ok("Q207000016049")
    # a temporary UPN ends in a letter, valued like the check letters (A = 0): 149 = 6 x 23 + 11 -> M
    assert upn_check_letter_ok("M20700001604A") and upn_check_letter_ok("M207000016040")
    assert not upn_check_letter_ok("M20700001604I")
    assert not upn_check_letter_ok("Q20700001604")
    assert uln_check_digit_ok("9999999999")
    assert uln_check_digit_ok("1234567899")  # 210 mod 11 = 1 -> check digit 9
    assert not uln_check_digit_ok("1234567890")
    assert uln_check_digit_ok("1000000043")  # 10 + 8 = 18 mod 11 = 7 -> 3
    assert not uln_check_digit_ok("12345")


def test_validation_rules_find_what_they_describe(tmp_path, persons):
    sample = [dict(p, Requests=[dict(r) for r in p["Requests"]]) for p in persons[:40]]
    planned = [p for p in sample if "NamedPlan" in p["Requests"][0].get("Assessment", {})]
    bad = planned[0]["Requests"][0]
    bad["Assessment"] = dict(bad["Assessment"], NamedPlan=dict(bad["Assessment"]["NamedPlan"], CeaseDate="2024-12-01"))
    bad["Assessment"]["NamedPlan"].pop("CeaseReason", None)
    late = planned[1]["Requests"][0]
    late["ReceivedDate"] = "2030-01-01"
    no_plan = next(p for p in sample if p["Requests"][0].get("Assessment", {}).get("AssessmentOutcome") == "N"
                   or "Assessment" not in p["Requests"][0])
    no_plan["Requests"][0]["Assessment"] = {"AssessmentOutcome": "N", "Week20": "1"}
    planned[2]["UPN"] = "A" + planned[2].get("UPN", "A207000016049")[1:] if "UPN" in planned[2] else "A123"
    path = write_sen2_xml(tmp_path / "bad.xml", sample, "356", REFERENCE, EXTRACT)
    _, frames = read_all(path)
    issues = validate_batch(frames, REFERENCE)
    counts = dict(issues.group_by("rule").len().iter_rows())
    assert counts.get("ceased_plan_has_reason") == 1
    assert counts.get("request_dates_in_order") == 1
    assert counts.get("week20_only_on_issued_plans") == 1
    assert counts.get("upn_check_letter", 0) + counts.get("uln_check_digit", 0) >= 1
    assert set(issues.columns) == {"rule", "person_key", "request_key", "source_row"}


def test_load_records_counts_in_the_report_and_records_in_the_restricted_schema(tmp_path, persons):
    from pipelines.quality.report import build_report

    sample = [dict(p, Requests=[dict(r) for r in p["Requests"]]) for p in persons[:60]]
    broken = next(p for p in sample if "NamedPlan" in p["Requests"][0].get("Assessment", {}))
    broken["Requests"][0]["ReceivedDate"] = "2030-01-01"  # after its own outcome and plan
    path = write_sen2_xml(tmp_path / "sen2.xml", sample, "356", REFERENCE, EXTRACT)
    warehouse = tmp_path / "send.duckdb"
    con = duckdb.connect(str(warehouse))
    result = load_sen2(con, [path], key=KEY, expected_la={"356"}, batch_persons=25)
    assert result.status == "loaded", result.message
    assert "request_dates_in_order 1" in result.message
    assert con.execute("select count(*) from raw.sen2_persons").fetchall() == [(60,)]
    summary = dict(con.execute("select rule, records from dq.sen2_validation_summary").fetchall())
    assert summary["request_dates_in_order"] == 1 and sum(summary.values()) == 1
    issues = con.execute("select rule, person_key, request_key from casework_restricted.sen2_validation_issues"
                         ).fetchall()
    assert [i[0] for i in issues] == ["request_dates_in_order"] and len(issues[0][2]) == 64
    assert con.execute("select count(*) from dq.validation_runs where source = 'sen2_requests' and passed"
                       ).fetchall() == [(1,)]
    # loading the same file again is skipped; nothing is doubled
    assert load_sen2(con, [path], key=KEY, expected_la={"356"}).status == "skipped"
    con.close()
    page = build_report(warehouse)
    assert "SEN2 return: the checks DfE will apply" in page and "1 record(s) break a check" in page
    assert issues[0][2] not in page and issues[0][1] not in page


def test_a_return_breaking_its_gate_is_quarantined_and_nothing_is_kept(tmp_path, persons):
    sample = [dict(p, Requests=[dict(r) for r in p["Requests"]]) for p in persons[:30]]
    sample[3]["Requests"][0].pop("ReceivedDate")  # item 2.1 is mandatory: the gate blocks the return
    path = write_sen2_xml(tmp_path / "sen2.xml", sample, "356", REFERENCE, EXTRACT)
    con = duckdb.connect()
    result = load_sen2(con, [path], key=KEY, expected_la={"356"}, batch_persons=10)
    assert result.status == "quarantined"
    assert "sen2.xml was quarantined" in result.message and "date the request was received" in result.message
    tables = {t for (t,) in con.execute("select table_name from information_schema.tables "
                                        "where table_schema = 'raw'").fetchall()}
    assert not tables & {"sen2_persons", "sen2_requests", "sen2_returns"}
    assert con.execute("select status from meta.file_loads").fetchall() == [("quarantined",)]
