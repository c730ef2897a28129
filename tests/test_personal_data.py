"""Personal data never leaves the reader: a refresh of local extracts with names, UPNs, NHS numbers,
e-mails and dates of birth in the wrong columns leaves none of them in any message, table, log,
run record or notification."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV, page_path_only
from pipelines.refresh import run_refresh, runs_log

KEY = "test-key-0123456789-abcdef"
NAME, SURNAME = "Zebedee", "Quillfeather"
UPN = "Q123456789012"
NHS = "943 476 5919"
EMAIL = "zebedee.quill@example.org"
DOB = "07/07/2011"
CANARIES = (NAME, SURNAME, UPN, NHS, NHS.replace(" ", ""), EMAIL, "zebedee.quill", DOB, "2011-07-07")

CASEWORK = ("Person ID,UPN,Forename,Surname,Date of Birth,Request ID,Date Request Received,Decision to Assess,"
            "Decision Date,Assessment Outcome,Outcome Date,Plan Issue Date,20 Week Exception,Exception Reason,"
            "Mediation,Mediation Date,Tribunal,Tribunal Date,Current Placement Type,In/Out of Borough,"
            "Plan Ceased Date\n")
CASEWORK_ROW = ("CP1,A123456789012,Amy,Lee,01/02/2012,R1,03/01/2024,Yes,2024-02-10,{outcome},,45400,N,,{mediation},,"
                "N,,Special school,In borough,\n")


def extracts(raw: Path) -> dict[str, str]:
    """Local extracts with personal data where it does not belong: file name -> what is wrong."""
    files = {
        # a case note naming a child, typed into a code column
        "ehcp_casework_2025-03-31.csv": CASEWORK + CASEWORK_ROW.format(
            outcome=f"{NAME} {SURNAME} told her mum", mediation="N"),
        # a date of birth in a yes/no column
        "ehcp_casework_2025-04-30.csv": CASEWORK + CASEWORK_ROW.format(outcome="Plan issued", mediation=DOB),
        # a UPN in a count column
        "exclusions_log_2024-25.csv": "Pupil ID,UPN,School,Start Date,Category,Sessions,SEN Provision\n"
                                      f"PU1,A123456789012,Marple High School,02/09/2024,Fixed Term,{UPN},E\n",
        # an NHS number in the activity code column
        "nccis_post16_2025-03.csv": f"CCIS ID,DOB,SEND,Activity Code\nYP1,01/10/2008,EHCP,{NHS}\n",
        # an e-mail address in a date column
        "training_records_2025-03.csv": "Employee Number,Course Title,Completion Date,Team\n"
                                        f"E1,Autism awareness,{EMAIL},SEND Team\n",
        # loads: the paths carry an e-mail, a name and a query string; the title names a child
        "local_offer_visits_2025-03.csv": "Date,Page path,Page title,Views,Sessions,Users\n"
                                          f"2025-03-01,/search?q={EMAIL}&child={NAME},Search,10,8,7\n"
                                          f"2025-03-01,/people/{NAME}-{SURNAME}/plan,{NAME}'s plan,3,3,3\n"
                                          f"2025-03-02,/contact/{EMAIL}#top,Contact,2,2,2\n"
                                          f"2025-03-02,/nhs/{NHS.replace(' ', '')},NHS,2,2,2\n"
                                          "2025-03-02,/local-offer/transport,Transport,5,4,4\n",
    }
    (raw / "local").mkdir(parents=True)
    for name, text in files.items():
        (raw / "local" / name).write_text(text, encoding="utf-8")
    return files


def everything_stored(warehouse: Path) -> list[tuple[str, str]]:
    """(where, text) for every text-like value of every table in every schema of the warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = []
        columns = con.execute("select table_schema, table_name, column_name, data_type from information_schema.columns "
                              "where table_schema not in ('information_schema', 'pg_catalog')").fetchall()
        for schema, table, column, data_type in columns:
            if data_type.startswith(("VARCHAR", "JSON", "STRUCT", "MAP")) or data_type.endswith("[]"):
                for (value,) in con.execute(f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"'
                                            ).fetchall():
                    if value is not None:
                        found.append((f"{schema}.{table}.{column}", value))
        return found
    finally:
        con.close()


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("personal")
    raw, published = root / "raw", root / "warehouse" / "send.duckdb"
    extracts(raw)
    notifications = root / "notifications.txt"
    logger = logging.getLogger()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(PSEUDONYM_KEY_ENV, KEY)
            patch.setenv("SEND_NOTIFY_COMMAND", f"cat >> '{notifications}'")
            patch.delenv("SEND_NOTIFY_WEBHOOK", raising=False)
            summary = run_refresh(raw, published, dbt=lambda warehouse: None, write_reports=None)
            patch.setenv("SEND_WAREHOUSE", str(root / "cli.duckdb"))
            cli = CliRunner().invoke(main, ["-v", "ingest", str(raw)])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return {"summary": summary, "published": published, "notifications": notifications, "logs": records,
            "cli": cli.output, "root": root}


def test_the_bad_files_are_refused_and_the_web_export_loads(refreshed):
    summary = refreshed["summary"]
    assert len(summary.quarantined) == 5, summary.quarantined
    assert summary.loaded == ["local_offer_visits_2025-03.csv"]
    messages = dict(duckdb.connect(str(refreshed["published"]), read_only=True).execute(
        "select source_file, message from meta.file_loads where status <> 'loaded'").fetchall())
    assert "(row 2, column 'Assessment Outcome'): the value (not shown" in messages["ehcp_casework_2025-03-31.csv"]
    assert "column 'Sessions'" in messages["exclusions_log_2024-25.csv"]


def test_no_place_holds_a_name_upn_nhs_number_email_or_date_of_birth(refreshed):
    places = everything_stored(refreshed["published"])
    places += [("runs.jsonl", runs_log(refreshed["published"]).read_text(encoding="utf-8"))]
    places += [("notification", refreshed["notifications"].read_text(encoding="utf-8"))]
    places += [("log", line) for line in refreshed["logs"]]
    places += [("cli output", refreshed["cli"])]
    schemas = {where.split(".")[0] for where, _ in places}
    assert {"raw", "meta", "dq", "runs", "notification", "log", "cli output"} <= schemas, schemas
    assert len(refreshed["logs"]) > 3 and "Refused" in refreshed["notifications"].read_text(encoding="utf-8")
    leaks = [(where, canary) for where, text in places for canary in CANARIES if canary.lower() in text.lower()]
    assert not leaks, leaks[:10]


def test_local_offer_paths_are_cut_to_the_path():
    assert page_path_only(f"/search?q={EMAIL}&child={NAME}") == ("/search", False)
    assert page_path_only("https://localoffer.example.gov.uk/send/transport#fares") == ("/send/transport", False)
    assert page_path_only(f"/contact/{EMAIL}") == ("/contact/[refused]", True)
    assert page_path_only(f"/people/{NAME}-{SURNAME}/plan") == ("/people/[refused]/plan", True)
    assert page_path_only(f"/upn/{UPN}") == ("/upn/[refused]", True)
    assert page_path_only("/dob/07-07-2011") == ("/dob/[refused]", True)
    assert page_path_only("/local-offer/short-breaks") == ("/local-offer/short-breaks", False)


def test_the_stored_paths_are_cut(refreshed):
    con = duckdb.connect(str(refreshed["published"]), read_only=True)
    paths = sorted(p for (p,) in con.execute("select distinct page_path from raw.local_offer_visits").fetchall())
    assert paths == ["/contact/[refused]", "/local-offer/transport", "/nhs/[refused]", "/people/[refused]/plan",
                     "/search"]
    columns = [c for (c,) in con.execute("select column_name from information_schema.columns "
                                         "where table_name = 'local_offer_visits'").fetchall()]
    assert "page_title" not in columns


def test_the_run_record_is_json(refreshed):
    lines = runs_log(refreshed["published"]).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["status"] == "published"


def test_every_schema_with_text_is_scanned(refreshed):
    schemas = {where.split(".")[0] for where, _ in everything_stored(refreshed["published"])}
    assert {"raw", "meta", "dq"} <= schemas, schemas
