"""Reliability of the refresh, continued: every door (schedule, sensor, command line) publishes the rest
when a file is refused; one changed local file rebuilds only what depends on it; dbt's unit tests run
again only when what they check changed. (tests/test_refresh_reliability.py has the kills, readers,
disk and permission errors and the lock; both copy conftest's published demo warehouse, `site`.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.config import dbt_target_dir
from pipelines.refresh import read_runs, run_refresh
from tests.test_refresh_reliability import add_new_file, fingerprint

pytestmark = pytest.mark.slow


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
        # only the NEET files changed: their source and what depends on it (the CLI door's selection)
        assert "raw/neet_send" in {k.to_user_string() for k in request.asset_selection}
        assert "raw/ehcp_timeliness" not in {k.to_user_string() for k in request.asset_selection}
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
    # dbt built the dependants of the NEET source and of meta.file_loads, and none of the rest
    built = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert {"stg_neet__la_dashboard", "stg_meta__file_loads", "fct_scorecard", "published_warehouse"} <= built
    assert not built & {"stg_ehcp__timeliness", "stg_lait__indicators", "stg_local__offer_visits"}, built


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


def test_unit_tests_run_again_only_when_what_they_check_changed(published_demo, site, tmp_path, monkeypatch):
    """dbt's unit tests check the project's SQL on fixed rows, not the data: the refresh runs them all
    when the project (or code, the settings dbt reads, the types of the relations they are typed by)
    changed since they all passed on this install, else leaves them out and says so. A cold refresh and
    the incremental refresh after it agree; a changed model's unit tests run again. (The cold refresh is
    conftest's published demo's, on an install with no record of them passing; then a copy of the dbt project
    and a target folder of this test's own holding that refresh's record, so the model can be changed; dbt
    builds in this process.)"""
    from pipelines import dbt_runner, refresh_state
    from pipelines.dbt_runner import UnitTestRecord
    from pipelines.refresh import refresh_session

    raw, published = site  # a copy of the warehouse the cold refresh published
    project = tmp_path / "dbt_project"
    shutil.copytree(refresh_state.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    for module in (dbt_runner, refresh_state):
        monkeypatch.setattr(module, "DBT_PROJECT_DIR", project)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    (tmp_path / "target").mkdir()
    shutil.copyfile(published_demo.cold.record, tmp_path / "target" / UnitTestRecord.FILE)
    visits = sorted((raw / "local").glob("local_offer_visits_*.csv"))[-1]

    def refresh():  # one local file changed
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
    cold = published_demo.cold
    every, ran, built = cold.unit_tests, cold.ran, cold.built
    assert len(every) >= 10 and ran == every and "int_kpi_values__s" in built, cold.dbt
    assert f"{len(every)} unit tests" in cold.dbt and "skipped" not in cold.dbt
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
