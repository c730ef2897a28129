"""The send-scorecard command: ingest, status, sql, and one-sentence errors without tracebacks."""

from __future__ import annotations

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from tests.test_readers import timeliness_csv


@pytest.fixture
def env(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(tmp_path / "wh" / "send.duckdb"))
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_ingest_status_and_sql(env):
    loaded = run("ingest")
    assert loaded.exit_code == 0, loaded.output
    assert "ehcp_timeliness" in loaded.output and "loaded" in loaded.output
    status = run("status")
    assert status.exit_code == 0
    assert "ehcp_timeliness" in status.output and "2024" in status.output and "not loaded" in status.output
    table = run("sql", "select measure, value from raw.ehcp_timeliness order by measure limit 2")
    assert table.exit_code == 0 and "plans_issued_20_weeks_ex" in table.output
    csv = run("sql", "select count(*) as n from raw.ehcp_timeliness", "--format", "csv")
    assert csv.output.splitlines()[-2:] == ["n", "6"]
    target = env / "out.parquet"
    parquet = run("sql", "select * from raw.ehcp_timeliness", "--format", "parquet", "--output", str(target))
    assert parquet.exit_code == 0
    assert pl.read_parquet(target).height == 6


def test_sql_is_read_only(env):
    run("ingest")
    result = run("sql", "drop table raw.ehcp_timeliness")
    assert result.exit_code == 1
    assert "read-only" in result.output.lower() and "Traceback" not in result.output


@pytest.mark.parametrize(("args", "words"), [
    (("sql", "select 1"), "no warehouse"),
    (("ingest", "missing-folder"), "no such file"),
])
def test_user_errors_are_one_sentence(env, args, words):
    result = run(*args)
    assert result.exit_code == 1
    assert words in result.output.lower()
    assert "Traceback" not in result.output


def test_bad_file_fails_the_command_and_says_why(env):
    (env / "raw" / "requests.csv").write_text("time_period,geographic_level\n2024,National\n")
    result = run("ingest")
    assert result.exit_code == 1
    assert "requests_received_in_year" in result.output
    assert "could not be loaded" in result.output
