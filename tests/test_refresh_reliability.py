"""Reliability of the refresh: kills, concurrent readers, idempotence, disk and permission errors.

The published warehouse must always open, hold complete data (old or new, never a mix) and
survive a refresh killed at any point; the next refresh must then complete normally.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import SendScorecardError
from pipelines.refresh import read_runs, run_refresh

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "pipelines.cli"]


def fingerprint(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Row count and a checksum of the contents (every column of every row, in any order) of every table
    outside meta (the run log grows by design): equal fingerprints mean exactly the same data."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("""select table_schema, table_name from information_schema.tables
            where table_type = 'BASE TABLE' and table_schema not in ('meta')""").fetchall()
        return {f"{s}.{t}": tuple(con.execute(
            f'select count(*), coalesce(sum(hash(row_data)), 0) from (select "{t}" as row_data from "{s}"."{t}" as "{t}")'
        ).fetchall()[0]) for s, t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def published_demo(tmp_path_factory):
    """A drop-zone with the demo data and a warehouse published from it once."""
    from demo.generate import generate_demo

    root = tmp_path_factory.mktemp("refresh")
    raw = root / "raw"
    generate_demo(raw, seed=7)
    published = root / "warehouse" / "send.duckdb"
    run_refresh(raw, published)
    return raw, published


@pytest.fixture
def site(published_demo, tmp_path):
    """A private copy of the published demo state for one test."""
    raw, published = published_demo
    shutil.copytree(raw, tmp_path / "raw")
    (tmp_path / "warehouse").mkdir()
    shutil.copy(published, tmp_path / "warehouse" / "send.duckdb")
    return tmp_path / "raw", tmp_path / "warehouse" / "send.duckdb"


def env_for(raw: Path, published: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "SEND_RAW": str(raw), "SEND_WAREHOUSE": str(published), **extra}


def add_new_file(raw: Path) -> None:
    """A new year's NEET file arrives (the 2025 one with its period moved on a year)."""
    neet = raw / "national" / "neet"
    text = (neet / "UD_NEETNK_LA_dashboard_2025_final.csv").read_bytes()
    lines = text.split(b"\n")
    moved = [lines[0]] + [line.replace(b"2025,", b"2026,", 1) if line.startswith(b"2025,") else line
                          for line in lines[1:]]
    (neet / "UD_NEETNK_LA_dashboard_2026_final.csv").write_bytes(b"\n".join(moved))


@pytest.mark.parametrize("stage", ["ingest", "dbt", "publish"])
def test_killed_refresh_leaves_the_published_warehouse_as_it_was(site, tmp_path, stage):
    raw, published = site
    before = fingerprint(published)
    add_new_file(raw)
    marker = tmp_path / "paused"
    process = subprocess.Popen(CLI + ["refresh"], env=env_for(
        raw, published, SEND_REFRESH_PAUSE_AT=stage, SEND_REFRESH_PAUSE_FILE=str(marker)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert process.poll() is None, "the refresh ended before reaching the stage"
        assert time.monotonic() < deadline, f"the refresh never reached {stage}"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert fingerprint(published) == before  # opens, and holds exactly the previous data
    completed = subprocess.run(CLI + ["refresh"], env=env_for(raw, published), capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    after = fingerprint(published)
    assert after["raw.neet_send"] > before["raw.neet_send"]
    assert not list((published.parent / "build").glob("*.duckdb"))  # the killed build was cleaned up


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
        summary = run_refresh(raw, published)
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
    summary = run_refresh(raw, published)
    assert summary.loaded == [] and summary.quarantined == [] and summary.skipped
    assert fingerprint(published) == before
    assert read_runs(published)[0]["run_id"] == summary.run_id


def test_disk_full_while_building_leaves_the_published_warehouse(site, monkeypatch):
    raw, published = site
    before = fingerprint(published)
    add_new_file(raw)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipelines.publish.shutil.copyfile", disk_full)
    with pytest.raises(SendScorecardError) as error:
        run_refresh(raw, published)
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
        run_refresh(raw, published)
    assert fingerprint(published) == before
    assert not list((published.parent / "build").glob("*.duckdb"))


def test_quarantined_source_still_publishes_the_rest_and_flags_stale_kpis(site):
    raw, published = site
    add_new_file(raw)  # a good new file in the same refresh
    neet = raw / "national" / "neet"
    good = (neet / "UD_NEETNK_LA_dashboard_2025_final.csv").read_bytes()
    header, *rows = good.split(b"\n")
    column = header.decode("utf-8-sig").strip().split(",").index("NEET_NK_EHCP_percent")
    broken = []
    for row in rows:
        fields = row.split(b",")
        if len(fields) > column and row.startswith(b"2025,"):
            fields[column] = b"-5"  # a negative percentage: a blocking check
        broken.append(b",".join(fields))
    (neet / "UD_NEETNK_LA_dashboard_2025_final.csv").write_bytes(b"\n".join([header, *broken]))
    before = fingerprint(published)
    summary = run_refresh(raw, published)
    assert summary.status == "published"
    assert [name for name in summary.quarantined] == ["UD_NEETNK_LA_dashboard_2025_final.csv"]
    assert "UD_NEETNK_LA_dashboard_2026_final.csv" in summary.loaded
    con = duckdb.connect(str(published), read_only=True)
    try:
        kept = con.execute("""select count(*) from raw.neet_send where time_period = '2025'
            and measure = 'neet_nk_ehcp_percent' and value < 0""").fetchall()[0][0]
        stale = con.execute("""select kpi_id, quality_note from marts.fct_scorecard
            where is_stale and la_code = 'E08000007'""").fetchall()
    finally:
        con.close()
    assert kept == 0  # the last good 2025 data stayed
    assert fingerprint(published)["raw.neet_send"] > before["raw.neet_send"]
    assert "P1" in {kpi for kpi, _ in stale}
    assert all("UD_NEETNK_LA_dashboard_2025_final.csv" in (note or "") for kpi, note in stale if kpi == "P1")
