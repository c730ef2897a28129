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


def test_the_command_ends_at_once_with_its_status_its_output_and_its_exit_callbacks(env, tmp_path):
    """`send-scorecard` (pipelines.cli:run) skips the interpreter's teardown (end_process), but not what
    an exit must still do: the command's status, everything it printed, atexit callbacks, threads."""
    import os
    import subprocess
    import sys

    # buffered output, as under cron (this machine may set PYTHONUNBUFFERED): unflushed text would be lost
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    script = tmp_path / "ends.py"
    script.write_text(
        "import atexit, sys, threading, time\n"
        "from pathlib import Path\n"
        "from pipelines.console import end_process\n"
        f"done = Path({str(tmp_path / 'thread-done')!r})\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), done.write_text('yes'))).start()\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.stdout.write('no newline yet; ')\n"
        "end_process(3)\n"
    )
    ended = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                           env=buffered)
    assert (ended.returncode, ended.stdout) == (3, "no newline yet; atexit ran\n"), ended.stderr
    assert (tmp_path / "thread-done").read_text() == "yes"

    # the command itself, piped as cron and CI run it: a sentence on stderr, exit status 1, no traceback
    failed = subprocess.run([sys.executable, "-m", "pipelines.cli", "sql", "select * from nowhere.nothing"],
                            capture_output=True, text=True, timeout=120, env=buffered)
    assert failed.returncode == 1 and "Error:" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
    for command in ("ingest", "status"):
        done = subprocess.run([sys.executable, "-m", "pipelines.cli", command], capture_output=True, text=True,
                              timeout=300, env=buffered)
        assert done.returncode == 0 and "ehcp_timeliness" in done.stdout, done.stderr
        assert done.stdout.rstrip().endswith("┘"), done.stdout  # the whole table, its last line included
