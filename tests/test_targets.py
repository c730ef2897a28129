"""Targets belong to the scorecard owner: the targets file, its template and checks; no default LA."""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines import config
from pipelines.cli import main
from pipelines.errors import SourceFormatError
from pipelines.ingest.loader import connect_warehouse, ingest_paths
from pipelines.ingest.sources import detect_source
from pipelines.ingest.targets import TARGET_COLUMNS, kpi_units, read_targets, resolve_la_code, template_csv

DBT = Path(__file__).resolve().parents[1] / "dbt_project"
HEADER = "la_code,kpi_id,from_period,target,tolerance,set_by,agreed_on,note\n"


def targets_file(tmp_path: Path, *rows: str, name: str = "targets.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_project_ships_no_targets():
    with (DBT / "seeds" / "kpi_targets.csv").open(encoding="utf-8") as handle:
        assert list(csv.DictReader(handle)) == []


def test_a_targets_file_is_read_with_who_set_each_target_and_when(tmp_path):
    frame = read_targets(targets_file(
        tmp_path,
        "Stockport,p1,2024,6.0,1.0,Head of SEND,14/03/2025,Agreed at the SEND board",
        "356,S11,2024,35,,Head of SEND,2025-03-14,",
        "E08000007,S5,2024,,,,,",  # a template row left blank: ignored
    ))
    assert frame.columns == [*TARGET_COLUMNS, "source_row"]
    assert frame.select("la_code", "kpi_id", "target", "set_by").rows() == [
        ("E08000007", "P1", 6.0, "Head of SEND"), ("E08000007", "S11", 35.0, "Head of SEND")]
    assert {str(d) for d in frame["agreed_on"]} == {"2025-03-14"}
    assert detect_source("targets.csv").table == "kpi_targets"
    assert detect_source("kpi_targets_2025.xlsx").table == "kpi_targets"


@pytest.mark.parametrize(("row", "column", "problem"), [
    ("E08000007,Z99,2024,5,,Owner,2025-01-01,", "kpi_id", "is not a KPI of the catalogue"),
    ("Atlantis,P1,2024,5,,Owner,2025-01-01,", "la_code", "is not an English local authority"),
    ("E08000007,P1,2024,150,,Owner,2025-01-01,", "target", "is impossible for P1, a percentage"),
    ("E08000007,S11,2024,-3,,Owner,2025-01-01,", "target", "is impossible for S11, a count"),
    ("E08000007,S11,2024,2.5,,Owner,2025-01-01,", "target", "is impossible for S11, a count"),
    ("E08000007,P1,2024,5,-1,Owner,2025-01-01,", "tolerance", "is negative"),
    ("E08000007,P1,2024,five,,Owner,2025-01-01,", "target", "is not a number"),
    ("E08000007,P1,last year,5,,Owner,2025-01-01,", "from_period", "is not a period key"),
    ("E08000007,P1,2024,5,,,2025-01-01,", "set_by", "is blank"),
    ("E08000007,P1,2024,5,,Owner,2099-01-01,", "agreed_on", "is in the future"),
])
def test_a_bad_target_is_refused_with_a_sentence(tmp_path, row, column, problem):
    with pytest.raises(SourceFormatError) as error:
        read_targets(targets_file(tmp_path, row))
    assert error.value.row == 2 and error.value.column == column
    assert str(error.value).startswith(f"targets.csv (row 2, column '{column}'): {problem}"), str(error.value)


def test_the_template_lists_every_kpi_and_loads_as_no_targets(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_RAW", str(tmp_path / "raw"))
    result = CliRunner().invoke(main, ["targets-template", "--la", "stockport"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "raw" / "targets" / "targets.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["kpi_id"] for r in rows] == list(kpi_units()) and {r["la_code"] for r in rows} == {"E08000007"}
    assert read_targets(path).is_empty()
    again = CliRunner().invoke(main, ["targets-template"])
    assert again.exit_code == 1 and "already exists" in again.output
    assert template_csv().splitlines()[0] == ",".join(TARGET_COLUMNS)


def test_a_new_targets_file_replaces_the_old_one(tmp_path):
    (tmp_path / "a").mkdir()
    first = targets_file(tmp_path / "a", "E08000007,P1,2024,6,,Owner,2025-01-01,")
    con = connect_warehouse(tmp_path / "send.duckdb")
    try:
        assert [r.status for r in ingest_paths(con, [first])] == ["loaded"]
        (tmp_path / "b").mkdir()
        second = targets_file(tmp_path / "b", "E08000007,E2,202324,10,2,Owner,2025-02-01,")
        assert [r.status for r in ingest_paths(con, [second])] == ["loaded"]
        assert con.execute("select kpi_id, target, set_by from raw.kpi_targets").fetchall() == [("E2", 10.0, "Owner")]
    finally:
        con.close()


def test_there_is_no_built_in_local_la(monkeypatch, tmp_path, caplog):
    from pipelines.jobs import write_outputs

    monkeypatch.delenv("SEND_SCORECARD_LA", raising=False)
    assert config.scorecard_la() is None
    text = (DBT / "dbt_project.yml").read_text(encoding="utf-8")
    assert "local_la_code: \"{{ env_var('SEND_SCORECARD_LA', '') }}\"" in text and "SEND_LOCAL_LA" not in text
    monkeypatch.setenv("SEND_SCORECARD_LA", "  ")
    assert config.scorecard_la() is None
    assert resolve_la_code("stockport") == resolve_la_code("356") == "E08000007"
    monkeypatch.delenv("SEND_SCORECARD_LA")
    with caplog.at_level(logging.WARNING), pytest.raises(Exception):  # noqa: B017 - no warehouse: the dq report fails
        write_outputs(tmp_path / "missing.duckdb")
    assert "SEND_SCORECARD_LA is not set: no scorecard was written" in caplog.text


def test_local_extracts_without_an_la_stop_the_refresh_before_anything_loads(monkeypatch, tmp_path):
    """Without SEND_SCORECARD_LA local figures would belong to no LA (dbt's not_null test on geo_code
    failed deep in the build): the refresh says what to set and leaves the published warehouse alone."""
    from pipelines.errors import SendScorecardError
    from pipelines.refresh import refuse_local_extracts_without_la, run_refresh

    raw = tmp_path / "raw"
    (raw / "local").mkdir(parents=True)
    (raw / "local" / "local_offer_visits_2025-06.csv").write_text("month,page,page_views\n", encoding="utf-8")
    (raw / "sen2_return_2025.xml").write_text("<Message/>", encoding="utf-8")
    published = tmp_path / "warehouse" / "send.duckdb"
    monkeypatch.delenv("SEND_SCORECARD_LA", raising=False)
    with pytest.raises(SendScorecardError) as refused:
        run_refresh(raw, published, write_reports=None)
    message = str(refused.value)
    assert "failed at the ingest step" in message and "SEND_SCORECARD_LA is not set" in message
    assert "local_offer_visits_2025-06.csv" in message and "sen2_return_2025.xml" in message
    assert not published.exists()
    refuse_local_extracts_without_la(raw, detect_source("timeliness_20_week.csv"))  # a national source: no LA needed
    monkeypatch.setenv("SEND_SCORECARD_LA", "stockport")
    refuse_local_extracts_without_la(raw)
    (raw / "local" / "local_offer_visits_2025-06.csv").unlink()
    (raw / "sen2_return_2025.xml").unlink()
    (raw / "timeliness_20_week.csv").write_text("time_period\n", encoding="utf-8")
    monkeypatch.delenv("SEND_SCORECARD_LA")
    refuse_local_extracts_without_la(raw)  # national files only: no LA needed


@pytest.mark.slow
def test_the_scorecard_shows_who_set_each_target_or_says_there_are_none(tmp_path_factory, tmp_path):
    import shutil

    import duckdb

    from pipelines.reports.scorecard import build_report, render_html
    from tests.test_scorecard_report import built_demo_warehouse

    demo = built_demo_warehouse(tmp_path_factory)
    html = render_html(build_report(demo, "E08000007"))
    assert 'title="set by Demo owner (invented targets) on 14 Mar 2025">agreed 14 Mar 2025</span>' in html
    assert re.search(r"Targets set by the scorecard owner: S11, [A-Za-z0-9_, ]+ and [A-Za-z0-9_]+ by Demo owner "
                     r"\(invented targets\), agreed 14 Mar 2025\. Measures without a target are rated against the "
                     r"North West and England figures", html)
    bare = tmp_path / "send.duckdb"
    shutil.copyfile(demo, bare)
    con = duckdb.connect(str(bare))
    con.execute("update marts.fct_scorecard set target = null, target_set_by = null, target_agreed_on = null")
    con.close()
    html = render_html(build_report(bare, "E08000007"))
    assert "No targets have been set for Stockport: each measure is rated against the North West and England" in html
    assert "set by" not in html


def test_restricted_tables_move_to_an_owner_only_file(tmp_path):
    import stat

    import duckdb

    from pipelines.restricted import RESTRICTED_SCHEMA, move_restricted, restore_restricted, restricted_path

    published = tmp_path / "warehouse" / "send.duckdb"
    published.parent.mkdir()
    build = tmp_path / "build.duckdb"

    def make_build(*tables: str) -> None:
        con = duckdb.connect(str(build))
        con.execute(f"create schema if not exists {RESTRICTED_SCHEMA}")
        for table in tables:
            con.execute(f"create or replace table {RESTRICTED_SCHEMA}.{table} as select 'key-1' as request_key")
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.counts as select 3 as open_requests")
        con.close()

    make_build("open_requests_past_20_weeks", "sen2_validation_issues")
    target = move_restricted(build, published)
    assert target == restricted_path(published) and target.parent == published.parent / "restricted"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    con = duckdb.connect(str(build), read_only=True)
    assert con.execute("select count(*) from information_schema.tables where table_schema = ?",
                       [RESTRICTED_SCHEMA]).fetchone()[0] == 0
    assert con.execute("select open_requests from marts.counts").fetchone()[0] == 3
    con.close()
    # The next run's build gets the restricted tables back (the loader appends a later return's issues
    # to them), and its folder is owner-only while it holds them.
    build.unlink()
    duckdb.connect(str(build)).close()
    restore_restricted(build, published)
    assert stat.S_IMODE(build.parent.stat().st_mode) == 0o700
    con = duckdb.connect(str(build))
    con.execute(f"insert into {RESTRICTED_SCHEMA}.sen2_validation_issues values ('key-2')")
    con.close()
    move_restricted(build, published)
    con = duckdb.connect(str(target), read_only=True)
    assert sorted(t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()) == [
        "open_requests_past_20_weeks", "sen2_validation_issues"]
    assert sorted(k for (k,) in con.execute(
        f"select request_key from {RESTRICTED_SCHEMA}.sen2_validation_issues").fetchall()) == ["key-1", "key-2"]
    con.close()
    build.unlink()
    duckdb.connect(str(build)).close()
    assert move_restricted(build, published) is None
