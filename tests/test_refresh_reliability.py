"""Reliability of the refresh: kills, concurrent readers, idempotence, disk and permission errors.

The published warehouse must always open, hold complete data (old or new, never a mix) and
survive a refresh killed at any point; the next refresh must then complete normally.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import SendScorecardError
from pipelines.refresh import read_runs, run_refresh

# make test hands this module to a worker first (tests/conftest.py): its tests are among the suite's longest.
# The published demo warehouse and each test's copy of it (`published_demo`, `site`) are in tests/conftest.py,
# shared with tests/test_refresh_doors.py (the doors, a selective rebuild, the unit-test record).
pytestmark = [pytest.mark.slow, pytest.mark.run_first]
CLI = [sys.executable, "-m", "pipelines.cli"]


def fingerprint(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Row count and a checksum of the contents (every column of every row, in any order) of every table
    outside meta (the run log grows by design), and of the raw views (a long raw table stored in parts):
    equal fingerprints mean exactly the same data."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("""select table_schema, table_name from information_schema.tables
            where (table_type = 'BASE TABLE' or table_schema = 'raw') and table_schema not in ('meta')""").fetchall()
        return {f"{s}.{t}": tuple(con.execute(
            f'select count(*), coalesce(sum(hash(row_data)), 0) from (select "{t}" as row_data from "{s}"."{t}" as "{t}")'
        ).fetchall()[0]) for s, t in tables}
    finally:
        con.close()


def env_for(raw: Path, published: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SEND_RAW": str(raw), "SEND_WAREHOUSE": str(published), **extra}


def add_new_file(raw: Path, year: int = 2026) -> None:
    """A new year's NEET file arrives (the 2025 one with its period moved on to `year`)."""
    neet = raw / "national" / "neet"
    text = (neet / "UD_NEETNK_LA_dashboard_2025_final.csv").read_bytes()
    lines = text.split(b"\n")
    moved = [lines[0]] + [line.replace(b"2025,", f"{year},".encode(), 1) if line.startswith(b"2025,") else line
                          for line in lines[1:]]
    (neet / f"UD_NEETNK_LA_dashboard_{year}_final.csv").write_bytes(b"\n".join(moved))


def test_killed_refresh_leaves_the_published_warehouse_as_it_was(site, tmp_path):
    """Killed at the start of ingest, then of dbt, then of publishing (three refreshes in a row, as a
    machine that keeps going down would): each time the published warehouse opens and holds exactly the
    previous data; the next refresh then completes and leaves none of the killed builds behind."""
    raw, published = site
    before = fingerprint(published)
    add_new_file(raw)
    for stage in ("ingest", "dbt", "publish"):
        marker = tmp_path / f"paused-{stage}"
        process = subprocess.Popen(CLI + ["refresh"], env=env_for(
            raw, published, SEND_REFRESH_PAUSE_AT=stage, SEND_REFRESH_PAUSE_FILE=str(marker)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert process.poll() is None, f"the refresh ended before reaching {stage}"
            assert time.monotonic() < deadline, f"the refresh never reached {stage}"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert fingerprint(published) == before, f"killed at {stage}"  # opens, and holds the previous data
    completed = subprocess.run(CLI + ["refresh"], env=env_for(raw, published), capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    after = fingerprint(published)
    assert after["raw.neet_send"] > before["raw.neet_send"]
    assert not list((published.parent / "build").glob("*.duckdb"))  # the killed builds were cleaned up


def test_readers_never_fail_or_see_a_mix_during_a_refresh(site, tmp_path):
    raw, published = site
    add_new_file(raw)
    reader = tmp_path / "reader.py"
    reader.write_text(f"""
import duckdb, sys, time
seen, errors = set(), 0
end = time.monotonic() + 600
while time.monotonic() < end:
    try:
        con = duckdb.connect({str(published)!r}, read_only=True)
        run, rows = con.execute('''select (select max(run_id) from meta.refresh_runs),
            (select count(*) from raw.neet_send)''').fetchall()[0]
        con.close()
        seen.add((run, rows))
    except Exception as exc:
        print('ERROR', exc, flush=True); errors += 1
    if open({str(tmp_path / 'stop')!r}, 'a+').tell():
        break
print('SEEN', sorted(seen), flush=True)
sys.exit(1 if errors else 0)
""")
    (tmp_path / "stop").write_text("")
    looping = subprocess.Popen([sys.executable, str(reader)], stdout=subprocess.PIPE, text=True)
    try:
        summary = run_refresh(raw, published, write_reports=None)
        assert summary.status == "published"
    finally:
        (tmp_path / "stop").write_text("stop")
        output, _ = looping.communicate(timeout=60)
    assert looping.returncode == 0, output
    seen = eval(output.split("SEEN", 1)[1])
    old_rows = min(rows for _, rows in seen)
    # every observation is the old state or the new one: a new run id always comes with the new rows
    assert all((rows == old_rows) != (run == summary.run_id) for run, rows in seen), seen


def test_second_identical_refresh_changes_nothing(site):
    raw, published = site
    before = fingerprint(published)
    modified = published.stat().st_mtime_ns
    summary = run_refresh(raw, published, write_reports=None)
    assert summary.loaded == [] and summary.quarantined == [] and summary.skipped
    assert summary.status == "unchanged" and "nothing changed since refresh" in summary.sentence()
    assert fingerprint(published) == before
    assert published.stat().st_mtime_ns == modified  # nothing was published
    assert read_runs(published)[0]["run_id"] == summary.run_id


def test_disk_full_while_building_leaves_the_published_warehouse(site, monkeypatch):
    raw, published = site
    before = fingerprint(published)
    add_new_file(raw)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipelines.publish.shutil.copyfile", disk_full)
    with pytest.raises(SendScorecardError) as error:
        run_refresh(raw, published, write_reports=None)
    message = str(error.value)
    assert "the disk is full" in message and "published warehouse was not changed" in message
    assert message.count(". ") <= 2 and "\n" not in message
    assert fingerprint(published) == before
    assert read_runs(published)[0]["status"] == "failed"


def test_permission_error_at_publish_leaves_the_published_warehouse(site, monkeypatch):
    raw, published = site
    before = fingerprint(published)
    add_new_file(raw)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("pipelines.publish.os.replace", refused)
    with pytest.raises(SendScorecardError, match="permission was denied"):
        run_refresh(raw, published, write_reports=None)
    assert fingerprint(published) == before
    assert not list((published.parent / "build").glob("*.duckdb"))


def test_ingest_during_a_paused_refresh_waits_or_says_who_holds_the_lock(site, tmp_path):
    raw, published = site
    elsewhere = tmp_path / "late"
    elsewhere.mkdir()
    add_new_file(raw)
    late = elsewhere / "UD_NEETNK_LA_dashboard_2026_final.csv"
    (raw / "national" / "neet" / late.name).rename(late)  # not in the drop-zone: only the ingest loads it
    add_new_file(raw, 2027)  # the refresh has a changed drop-zone to load, so it reaches its pause
    marker = tmp_path / "paused"  # the refresh waits at its pause until this file is removed (or 240 s)
    refresh = subprocess.Popen(CLI + ["refresh"], env=env_for(
        raw, published, SEND_REFRESH_PAUSE_AT="dbt", SEND_REFRESH_PAUSE_FILE=str(marker),
        SEND_REFRESH_PAUSE_SECONDS="240"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert refresh.poll() is None, refresh.stderr.read()
            assert time.monotonic() < deadline, "the refresh never reached the pause"
            time.sleep(0.1)
        refused = subprocess.run(CLI + ["ingest", str(late)], env=env_for(raw, published, SEND_LOCK_WAIT_SECONDS="1"),
                                 capture_output=True, text=True)
        assert refused.returncode == 1
        sentence = " ".join(refused.stderr.split())
        assert "Could not start an ingest" in sentence and "(started by cli)" in sentence, sentence
        assert "is still writing to" in sentence and sentence.count(". ") <= 1
        waiting = subprocess.Popen(CLI + ["ingest", str(late)], env=env_for(raw, published, SEND_LOCK_WAIT_SECONDS="300"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        heard: list[str] = []  # its stderr, read as it comes: the refresh goes on once the ingest says it waits
        reader = threading.Thread(target=lambda: heard.extend(iter(waiting.stderr.readline, "")), daemon=True)
        reader.start()
        while "Waiting for" not in "".join(heard):
            assert waiting.poll() is None or reader.is_alive(), "".join(heard)
            assert time.monotonic() < deadline, "the second ingest never said it was waiting"
            time.sleep(0.05)
        marker.unlink()  # the refresh goes on to dbt and publish, then the waiting ingest loads
        waiting.wait(timeout=300)
        reader.join(timeout=60)
    finally:
        marker.unlink(missing_ok=True)
        refresh.wait(timeout=300)
    assert refresh.returncode == 0, refresh.stderr.read()
    assert waiting.returncode == 0, "".join(heard)
    assert "Waiting for refresh" in " ".join("".join(heard).split())
    con = duckdb.connect(str(published), read_only=True)
    try:
        rows = con.execute("select count(*) from raw.neet_send where source_file = ?", [late.name]).fetchall()[0][0]
        runs = con.execute("select count(*) from meta.refresh_runs").fetchall()[0][0]
    finally:
        con.close()
    assert rows > 0  # loaded into the warehouse the refresh published, not lost with its build copy
    assert runs == 2  # the fixture's refresh and the paused one
