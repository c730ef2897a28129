"""Reliability of the refresh: kills, concurrent readers, idempotence, disk and permission errors.

The published warehouse must always open, hold complete data (old or new, never a mix) and
survive a refresh killed at any point; the next refresh must then complete normally.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.config import dbt_target_dir
from pipelines.errors import SendScorecardError
from pipelines.refresh import read_runs, run_refresh

# make test hands this module to a worker first (tests/conftest.py): its tests are the suite's longest.
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


@pytest.fixture(scope="module")
def published_demo(tmp_path_factory):
    """A drop-zone with the demo data and a warehouse published from it once."""
    from demo.generate import generate_demo

    root = tmp_path_factory.mktemp("refresh")
    raw = root / "raw"
    generate_demo(raw, seed=7)
    published = root / "warehouse" / "send.duckdb"
    run_refresh(raw, published, write_reports=None)
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


def marts(warehouse: Path) -> dict[str, list]:
    """Every row of every mart, sorted, for comparing two builds (floats to 9 decimals: parallel sums
    may add in another order)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [t for (t,) in con.execute("""select table_name from information_schema.tables
            where table_schema = 'marts' order by 1""").fetchall()]
        return {t: sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row)  # sum order
                           for row in con.execute(f"select * from marts.{t}").fetchall()), key=repr)
                for t in tables}
    finally:
        con.close()


def test_one_changed_local_file_rebuilds_only_what_depends_on_it_with_the_same_result(site, tmp_path):
    from pipelines.dbt_runner import dbt_build

    raw, published = site
    visits = sorted((raw / "local").glob("local_offer_visits_*.csv"))[-1]
    header, first, *rest = visits.read_text().splitlines(keepends=True)
    fields = first.split(",")
    fields[2] = str(int(fields[2]) + 1000)  # many more page views on the month's first row
    visits.write_text("".join([header, ",".join(fields), *rest]))
    summary = run_refresh(raw, published)
    assert summary.status == "published" and summary.loaded == [visits.name]
    target = dbt_target_dir()
    built = {r["unique_id"].split(".")[-1] for r in json.loads((target / "run_results.json").read_text())["results"]
             if r["unique_id"].startswith("model.")}
    models = {n["name"] for n in json.loads((target / "manifest.json").read_text())["nodes"].values()
              if n["resource_type"] == "model"}
    assert {"stg_local__offer_visits", "int_kpi_values__local", "fct_scorecard"} <= built
    assert "int_kpi_source_values" not in built and len(built) < len(models)  # the national chain is kept
    # a full build on the same data publishes exactly the same marts
    full = tmp_path / "full.duckdb"
    shutil.copyfile(published, full)
    result = dbt_build(full)
    assert result.success
    assert marts(published) == marts(full)


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


def break_neet_2025(raw: Path) -> str:
    """Make the 2025 NEET file fail a blocking check (a negative percentage); returns its name."""
    neet = raw / "national" / "neet"
    name = "UD_NEETNK_LA_dashboard_2025_final.csv"
    header, *rows = (neet / name).read_bytes().split(b"\n")
    column = header.decode("utf-8-sig").strip().split(",").index("NEET_NK_EHCP_percent")
    broken = []
    for row in rows:
        fields = row.split(b",")
        if len(fields) > column and row.startswith(b"2025,"):
            fields[column] = b"-5"
        broken.append(b",".join(fields))
    (neet / name).write_bytes(b"\n".join([header, *broken]))
    return name


def start_through(door: str) -> None:
    """Start the refresh the way `door` does: the schedule's and the sensor's run requests executed by
    the refresh job (with the tag Dagster's daemon adds), or the command line."""
    if door == "cli":
        from click.testing import CliRunner

        from pipelines.cli import main

        result = CliRunner().invoke(main, ["refresh"])
        # published with one file refused: exit status 2, which cron and Task Scheduler see
        assert result.exit_code == 2, result.output
        assert "were refused (exit status 2)" in " ".join(result.output.split()), result.output
        return
    import dagster as dg

    from pipelines.definitions import defs

    repo = defs.get_repository_def()
    if door == "schedule":
        schedule = repo.get_schedule_def("monthly_refresh")
        request = schedule.evaluate_tick(dg.build_schedule_context(repository_def=repo)).run_requests[0]
        tags = {**request.tags, "dagster/schedule_name": schedule.name}
    else:
        sensor = repo.get_sensor_def("drop_zone_sensor")
        request = sensor(dg.build_sensor_context(repository_def=repo))
        assert isinstance(request, dg.RunRequest), request
        assert "raw/neet_send" in {k.to_user_string() for k in request.asset_selection}
        assert "raw/ehcp_timeliness" not in {k.to_user_string() for k in request.asset_selection}
        tags = {**request.tags, "dagster/sensor_name": sensor.name}
    job = repo.get_job("refresh")
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags,
                                    asset_selection=request.asset_selection)
    assert result.success


@pytest.mark.parametrize("door", ["schedule", "sensor", "cli"])
def test_every_door_logs_notifies_and_publishes_the_rest_when_a_file_is_refused(site, tmp_path, monkeypatch, door):
    raw, published = site
    add_new_file(raw)  # a good new file in the same refresh
    refused = break_neet_2025(raw)
    notified = tmp_path / "notified.txt"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(published))
    monkeypatch.setenv("SEND_NOTIFY_COMMAND", f"cat >> {notified}")
    before = fingerprint(published)
    start_through(door)

    run = read_runs(published)[0]
    assert (run["started_by"], run["status"]) == (door, "published")
    assert run["quarantined"] == [refused] and "UD_NEETNK_LA_dashboard_2026_final.csv" in run["loaded"]
    assert any(path.endswith("data-quality.html") for path in run["reports"])
    text = notified.read_text()
    assert f"started by {door}" in text and f"Refused: {refused} was quarantined" in text
    con = duckdb.connect(str(published), read_only=True)
    try:
        kept = con.execute("""select count(*) from raw.neet_send where time_period = '2025'
            and measure = 'neet_nk_ehcp_percent' and value < 0""").fetchall()[0][0]
        stale = con.execute("""select kpi_id, quality_note from marts.fct_scorecard
            where is_stale and la_code = 'E08000007'""").fetchall()
        in_quarantine = con.execute("select source_file from quarantine.files").fetchall()
        logged = con.execute("select started_by from meta.refresh_runs where run_id = ?", [run["run_id"]]).fetchall()
    finally:
        con.close()
    assert kept == 0  # the last good 2025 data stayed
    assert fingerprint(published)["raw.neet_send"] > before["raw.neet_send"]
    assert "P1" in {kpi for kpi, _ in stale}
    assert (refused,) in in_quarantine and logged == [(door,)]
    # loud to the owner, quiet to the public: the reason is in the data-quality report only
    quality = Path(next(path for path in run["reports"] if path.endswith("data-quality.html"))).read_text()
    public = Path(next(path for path in run["reports"] if path.endswith("-publication.html"))).read_text()
    assert refused in quality and "percentage below 0" in quality
    assert "Not updated this month" in public
    assert "percentage below 0" not in public and "quarantined" not in public  # the reason stays inside

    from click.testing import CliRunner

    from pipelines.cli import main

    listed = CliRunner().invoke(main, ["runs"])
    assert listed.exit_code == 0 and run["run_id"][:12] in listed.output and door in listed.output
    if door == "schedule":  # the next month with nothing changed: no run, and the tick says why
        import dagster as dg

        from pipelines.definitions import defs

        repo = defs.get_repository_def()
        schedule = repo.get_schedule_def("monthly_refresh")
        tick = schedule.evaluate_tick(dg.build_schedule_context(repository_def=repo))
        assert not tick.run_requests and "Nothing to refresh: nothing changed since refresh" in tick.skip_message
        (raw / "national" / "neet" / refused).write_bytes((raw / "national" / "neet" / refused).read_bytes() + b"\n")
        tick = schedule.evaluate_tick(dg.build_schedule_context(repository_def=repo))
        assert len(tick.run_requests) == 1 and "1 drop-zone file(s)" in tick.run_requests[0].tags["changed"]
    if door == "sensor":  # the refused file is retried only when its bytes change
        import dagster as dg

        from pipelines.definitions import defs

        repo = defs.get_repository_def()
        tick = repo.get_sensor_def("drop_zone_sensor")(dg.build_sensor_context(repository_def=repo))
        assert isinstance(tick, dg.SkipReason), tick
        (raw / "national" / "neet" / refused).write_bytes((raw / "national" / "neet" / refused).read_bytes() + b"\n")
        tick = repo.get_sensor_def("drop_zone_sensor")(dg.build_sensor_context(repository_def=repo))
        assert isinstance(tick, dg.RunRequest)


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



def test_unit_tests_run_again_only_when_what_they_check_changed(site, tmp_path, monkeypatch):
    """dbt's unit tests check the project's SQL on fixed rows, not the data: the refresh runs them all
    when the project (or code, the settings dbt reads, the types of the relations they are typed by)
    changed since they all passed on this install, else leaves them out and says so. A cold refresh and
    the incremental refresh after it agree; a changed model's unit tests run again. (A copy of the dbt
    project and a target folder of this test's own, so the model can be changed; dbt builds in this process.)"""
    from pipelines import dbt_runner, refresh_state
    from pipelines.dbt_runner import UnitTestRecord
    from pipelines.refresh import refresh_session

    raw, _ = site
    published = tmp_path / "cold" / "send.duckdb"  # an empty warehouse: the first refresh is cold
    project = tmp_path / "dbt_project"
    shutil.copytree(refresh_state.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    for module in (dbt_runner, refresh_state):
        monkeypatch.setattr(module, "DBT_PROJECT_DIR", project)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    visits = sorted((raw / "local").glob("local_offer_visits_*.csv"))[-1]

    def refresh(local_change: bool = True):
        if local_change:
            header, first, *rest = visits.read_text().splitlines(keepends=True)
            fields = first.split(",")
            fields[2] = str(int(fields[2]) + 1)
            visits.write_text("".join([header, ",".join(fields), *rest]))
        with refresh_session(raw, published, started_by="cli", write_reports=None) as run:  # the stages, as run_refresh
            assert not run.check_unchanged()
            run.ingest()
            summary = run.dbt()
            run.publish()
        every = set(json.loads(summary.manifest)["unit_tests"])
        ran = {r.unique_id for r in summary.results if r.resource_type == "unit_test" and r.status == "pass"}
        built = {r.name for r in summary.results if r.resource_type == "model"}
        return run.summary, summary, ran, every, built

    # a cold refresh, no record on this install: every unit test runs, after the build
    refreshed, summary, ran, every, built = refresh(local_change=False)
    assert len(every) >= 10 and ran == every and "int_kpi_values__s" in built, summary.sentence()
    assert f"{len(every)} unit tests" in refreshed.dbt and "skipped" not in refreshed.dbt
    # the incremental refresh after it (one local file changed): nothing they check changed, so they
    # are left out, and the output and run record say so
    refreshed, summary, ran, every, built = refresh()
    assert ran == set() and summary.unit_tests_skipped == len(every) and "fct_scorecard" in built, summary.sentence()
    assert f"{len(every)} unit tests skipped as unchanged since they passed" in refreshed.dbt
    assert read_runs(published)[0]["dbt"] == refreshed.dbt
    # a model changed: all of them run again, those of models the change does not select too, after
    # the build (whose relations they are typed by)
    model = project / "models" / "intermediate" / "int_kpi_targets.sql"
    model.write_text(model.read_text() + "\n-- changed: the unit tests of this model run again\n")
    refreshed, summary, ran, every, built = refresh()
    assert ran == every and "int_kpi_targets" in built and "int_kpi_values__s" not in built, summary.sentence()
    kinds = [r.resource_type for r in summary.results]
    assert kinds.index("unit_test") > max(i for i, kind in enumerate(kinds) if kind == "model")
    assert UnitTestRecord("another key").passed_at() is None
