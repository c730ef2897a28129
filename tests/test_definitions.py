"""The Dagster code location: one refresh job, the engine's guarantees for partial runs, the GX
suites as asset checks, and the drop-zone sensor whose state is the published warehouse."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import defs, drop_zone_sensor, published_warehouse
from pipelines.defs.automation import changed_sources
from pipelines.defs.national import national_assets
from pipelines.defs.run import refresh_run, started_by
from pipelines.ingest.sources import SOURCES
from pipelines.refresh import read_runs
from pipelines.refresh_state import Fingerprint, PublishedState, RefreshPlan
from tests.test_readers import timeliness_csv


def test_one_refresh_job_with_a_schedule_and_a_sensor():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/ehcp_timeliness", "raw/lait_indicators", "raw/statistical_neighbours", "raw/la_reference"} <= keys
    assert [job.name for job in repo.get_all_jobs() if not job.name.startswith("__")] == ["refresh"]
    assert repo.get_schedule_def("monthly_refresh").job_name == "refresh"
    assert repo.get_schedule_def("monthly_refresh").execution_timezone == "Europe/London"
    assert repo.get_sensor_def("drop_zone_sensor").job_name == "refresh"


def test_every_raw_asset_carries_its_quality_suite_as_described_checks():
    graph = defs.get_repository_def().asset_graph
    checks = {}
    for key in graph.asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), []).append(graph.get_check_spec(key))
    raw = [f"raw/{spec.table}" for spec in SOURCES]
    assert set(raw) <= {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert raw and all(checks.get(name) for name in raw), [name for name in raw if not checks.get(name)]
    timeliness = {spec.name: spec.description for spec in checks["raw/ehcp_timeliness"]}
    assert timeliness["time_period_not_null"].startswith("Every period is filled in")
    assert all(spec.description for specs in checks.values() for spec in specs)


def test_who_started_a_run_comes_from_its_tags():
    assert started_by({"dagster/schedule_name": "monthly_refresh"}) == "schedule"
    assert started_by({"dagster/sensor_name": "drop_zone_sensor"}) == "sensor"
    assert started_by({}) == "ui"
    assert started_by({"send/started_by": "cli"}) == "cli"


def test_materialise_national_assets_through_the_engine(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    (raw / "national" / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    warehouse = tmp_path / "send.duckdb"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = dg.materialize([*national_assets, published_warehouse], resources={"refresh_run": refresh_run})
    assert result.success
    assert not list((tmp_path / "build").glob("*.duckdb"))  # the run's build copy became the warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from raw.ehcp_timeliness").fetchall() == [(6,)]
    assert con.execute("select started_by from meta.refresh_runs").fetchall() == [("ui",)]
    con.close()
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()
              if c.asset_key == dg.AssetKey(["raw", "ehcp_timeliness"])}
    assert checks["time_period_not_null"].passed
    assert checks["time_period_not_null"].metadata["files checked"].value == 1
    assert read_runs(warehouse)[0]["started_by"] == "ui" and read_runs(warehouse)[0]["status"] == "published"
    again = dg.materialize([*national_assets, published_warehouse], resources={"refresh_run": refresh_run})
    materialisation = again.asset_materializations_for_node("raw__ehcp_timeliness")[0]
    assert materialisation.metadata["skipped"].value == 1  # nothing new: every file skipped
    assert [run["status"] for run in read_runs(warehouse)] == ["published", "published"]


def tick(cursor=None):
    context = dg.build_sensor_context(cursor=cursor, repository_def=defs.get_repository_def())
    return drop_zone_sensor(context), context.cursor


def test_sensor_starts_nothing_without_a_published_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_RAW", str(tmp_path))
    monkeypatch.setenv("SEND_WAREHOUSE", str(tmp_path / "wh" / "send.duckdb"))
    (tmp_path / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    result, _ = tick()
    assert isinstance(result, dg.SkipReason) and "no published warehouse" in result.skip_message


def test_sensor_state_is_what_the_published_warehouse_has_seen(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    raw.mkdir()
    data = raw / "timeliness_20_week.csv"
    data.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    warehouse = tmp_path / "wh" / "send.duckdb"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    assert dg.materialize([*national_assets, published_warehouse], resources={"refresh_run": refresh_run}).success
    # an up-to-date warehouse: a fresh sensor (empty cursor, as on `dagster dev`) starts nothing
    fresh, cursor = tick(None)
    assert isinstance(fresh, dg.SkipReason), fresh
    os.utime(data, (1, 1))  # touched, same content
    touched, cursor = tick(cursor)
    assert isinstance(touched, dg.SkipReason)
    data.write_bytes(timeliness_csv(["10,9,6,6,60,66.7"]))
    changed, cursor = tick(cursor)
    assert isinstance(changed, dg.RunRequest)
    keys = {key.to_user_string() for key in changed.asset_selection}
    assert {"raw/ehcp_timeliness", "raw/unread_files", "published_warehouse", "scorecard_reports"} <= keys
    assert "raw/lait_indicators" not in keys
    again, _ = tick(cursor)  # the run has not published yet: the same request (Dagster drops it by run key)
    assert isinstance(again, dg.RunRequest) and again.run_key == changed.run_key


def test_the_schedule_refreshes_the_sources_of_the_changed_files_or_everything(tmp_path):
    # what the monthly schedule's run refreshes (tests/test_refresh_doors.py runs one): the sources of the
    # drop-zone files changed since the published refresh and what depends on them, as the CLI's dbt
    # selection; None (everything) when the CLI builds everything or dbt definitions changed
    raw = tmp_path / "raw"
    raw.mkdir()
    data = raw / "timeliness_20_week.csv"
    data.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    (raw / "scorecard_settings.csv").write_text("kpi_id,priority\n")
    published = Fingerprint.of(raw)

    def plan(**published_with) -> RefreshPlan:
        previous = PublishedState("run-1", replace(published, **published_with), manifest="{}", file_loads=1)
        now = Fingerprint.of(raw)
        return RefreshPlan(fingerprint=now, previous=previous, changes=now.changes_from(previous.fingerprint))

    assert changed_sources(plan(), raw) == set()
    data.write_bytes(timeliness_csv(["10,9,6,6,60,66.7"]))
    (raw / "scorecard_settings.csv").write_text("kpi_id,priority\nS5,high\n")  # not data: no raw table
    (raw / "notes.csv").write_text("a,b\n1,2\n")  # no known source: loads nothing
    assert changed_sources(plan(), raw) == {"ehcp_timeliness"}
    assert changed_sources(plan(dbt="another dbt project"), raw) is None  # state:modified+: everything here
    assert changed_sources(plan(code="other code"), raw) is None  # the CLI builds everything too
    assert changed_sources(RefreshPlan(fingerprint=Fingerprint.of(raw), previous=None), raw) is None
    (raw / "release.zip").write_bytes(b"not a zip")  # cannot be opened: the whole job reads every file again
    assert changed_sources(plan(), raw) is None


def test_both_doors_rebuild_every_model_that_reads_outside_the_sources(tmp_path):
    # one rule (RefreshPlan.outside_source_models): a model calling warehouse_relation( is rebuilt with what
    # depends on it by a selective refresh, by the CLI's dbt selection and by the schedule's asset selection
    from pipelines.defs.automation import changed_selection
    from pipelines.defs.warehouse import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    timeliness = next(n for n in manifest["nodes"].values() if n["name"] == "stg_ehcp__timeliness")
    timeliness["raw_code"] += "\n-- {{ warehouse_relation('meta', 'file_loads') }}"  # a second such model
    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    fingerprint = Fingerprint.of(raw)
    plan = RefreshPlan(fingerprint=fingerprint, previous=PublishedState("run-1", fingerprint, json.dumps(manifest), 1))
    assert plan.outside_source_models() == ["stg_ehcp__timeliness", "stg_meta__file_loads"]
    assert plan.dbt_selection(["neet_send"]) == ("stg_ehcp__timeliness+ stg_meta__file_loads+ source:raw.neet_send+ "
                                                 "state:modified+")
    tables, keys = changed_selection(plan, raw, defs.get_repository_def().asset_graph)
    names = {key.path[-1] for key in keys}
    assert tables == set()  # no file changed: the models outside the sources and what depends on them
    assert {"stg_ehcp__timeliness", "stg_meta__file_loads", "fct_scorecard", "published_warehouse",
            "scorecard_reports", "unread_files"} <= names  # every run lists the files no source reads
    assert not names & {"ehcp_timeliness", "stg_lait__indicators", "stg_neet__la_dashboard"}, names


def test_dbt_data_tests_are_asset_checks_of_their_model_in_plain_words():
    # dagster-dbt makes each dbt test an asset check of its model: a model's checks are one
    # model_checks test, so one asset check that names each of them; a check with a `where` of its own
    # is a check of its own that says which rows it checks
    graph = defs.get_repository_def().asset_graph
    checks: dict[str, dict[str, str]] = {}
    for key in graph.asset_check_keys:
        spec = graph.get_check_spec(key)
        checks.setdefault(key.asset_key.to_user_string(), {})[key.name] = spec.description
    [dim_la] = checks["marts/dim_la"].items()
    assert dim_la[0].startswith("model_checks_dim_la")
    assert dim_la[1] == ("In dim_la: the table has rows; no two rows share a la_code; every row fills in la_code, "
                         "current_la_code, la_name; status is one of: live, terminated; "
                         "every current_la_code is a la_code of dim_la")
    [dim_kpi] = checks["marts/dim_kpi"].values()
    assert ("family is one of: S, E, P, L; unit is one of: count, percent, score, rate; "
            "polarity is one of: High, Low, Context") in dim_kpi
    facts = sorted(checks["marts/fct_kpi_values"].values())
    assert len(facts) == 3
    assert facts[2].endswith("every kpi_id is a kpi_id of dim_kpi; every period_key is a period_key of dim_period")
    assert facts[0] == "In fct_kpi_values: every geo_code is a la_code of dim_la (rows where geo_level = 'la')"
    assert facts[1] == ("In fct_kpi_values: no two rows share the same geo_level, geo_code, kpi_id, period_key "
                        "(rows where is_preferred)")
    assert any(key.startswith("reference/") for key in checks)  # seeds' checks too
    singular = [name for model in checks.values() for name in model if name.startswith("assert_")]
    assert singular  # the arithmetic tests of tests/ stay checks of their own


def test_every_source_loads_after_the_reference_sources_as_the_refresh_loads_them():
    """Reading and gating any file read the reference sources (the LA reference's codes, LAIT's dictionary for
    the units of measures): each raw asset depends on those the refresh loads before it, so the job runs them
    first, as ingest_paths does."""
    graph = defs.get_repository_def().asset_graph
    references = [spec for spec in SOURCES if spec.is_reference]
    assert {spec.table for spec in references} >= {"la_reference", "lait_data_dictionary"}
    for spec in SOURCES:
        parents = {key.to_user_string() for key in graph.get(dg.AssetKey(["raw", spec.table])).parent_keys}
        before = {f"raw/{reference.table}" for reference in references if reference.load_order < spec.load_order}
        assert before <= parents, (spec.table, before - parents)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# Per run or per moment, not per content: left out when the two doors' warehouses are compared.
RUN_COLUMNS = {"loaded_at", "run_id", "started_at", "finished_at", "seconds", "checked_at", "quarantined_at",
               "release_order"}  # release_order: the release's publication order, then its load time


def _warehouse_contents(path: Path) -> dict[str, tuple[int, int]]:
    """(rows, an order-free hash of the rows) of every raw, raw_parts, meta, dq and quarantine table but the
    record of the runs themselves, without the columns of RUN_COLUMNS."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables() where schema_name in "
                             "('raw', 'raw_parts', 'meta', 'dq', 'quarantine') and table_name not in "
                             "('refresh_runs', 'refresh_state') order by 1, 2").fetchall()
        out = {}
        for schema, table in tables:
            columns = [c for (c,) in con.execute("select column_name from duckdb_columns() where schema_name = ? "
                                                 "and table_name = ?", [schema, table]).fetchall()
                       if c not in RUN_COLUMNS]
            listed = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = con.execute(
                f'select count(*), coalesce(sum(hash(({listed}))), 0) from "{schema}"."{table}"').fetchone()
        return out
    finally:
        con.close()


@pytest.mark.real_data
@pytest.mark.slow
def test_the_job_and_the_command_line_leave_the_same_warehouse(tmp_path, monkeypatch):
    """One refresh engine: the Dagster job (source by source, each asset after the reference sources, the unread
    files' step) and `send-scorecard refresh` (ingest_paths) load the same drop-zone into the same tables. The
    2019 SEN2 main table names Gateshead by its old code, which only the drop-zone's LA lookup knows; a damaged
    zip and a file of no known source are recorded by both."""
    if not (SHARED / "dfe" / "ehcp-plans-2019" / "SEN2_MI.csv").exists():
        pytest.skip(f"{SHARED} is absent: the real files are needed")
    from pipelines.refresh import run_refresh

    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    for name in ("reference/la_lookup.csv", "lait/la_code_list.xlsx", "lait/sn_may_2025.xlsx",
                 "lait/lait_data_dictionary.csv", "dfe/ehcp-plans-2019/SEN2_MI.csv",
                 "dfe/neet-send/UD_NEETNK_LA_dashboard_2024_final.csv",
                 "dfe/neet-send/UD_NEETNK_LA_dashboard_2025_final.csv"):
        shutil.copy(SHARED / name, raw / "national")
    (raw / "national" / "education-health-and-care-plans_2030.zip").write_bytes(b"PK\x03\x04 not a zip")
    (raw / "national" / "mystery_numbers.csv").write_text("a,b\n1,2\n")
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(tmp_path / "job" / "send.duckdb"))
    assert dg.materialize([*national_assets, published_warehouse], resources={"refresh_run": refresh_run}).success
    run_refresh(raw, tmp_path / "cli" / "send.duckdb", dbt=lambda warehouse: None, write_reports=None)

    job, cli = _warehouse_contents(tmp_path / "job" / "send.duckdb"), _warehouse_contents(tmp_path / "cli" / "send.duckdb")
    assert job == cli, {name: (job.get(name), cli.get(name)) for name in set(job) | set(cli) if job.get(name) != cli.get(name)}
    con = duckdb.connect(str(tmp_path / "job" / "send.duckdb"), read_only=True)
    loads = dict(con.execute("select source_file, status from meta.file_loads").fetchall())
    con.close()
    assert loads["SEN2_MI.csv"] == "loaded" and loads["mystery_numbers.csv"] == "unknown"
    assert loads["education-health-and-care-plans_2030.zip"] == "failed"
    assert job["quarantine.files"][0] == 1 and job["raw.ehcp_main_table"][0] > 0


def test_a_dagster_run_reports_the_files_no_source_reads_as_the_cli_does(tmp_path, monkeypatch):
    """A damaged zip and a file of no known source: the job records them in meta.file_loads, quarantines the
    damaged one with its reason and lists both in the run's summary, as `send-scorecard refresh` does."""
    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    (raw / "national" / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    (raw / "national" / "education-health-and-care-plans_2030.zip").write_bytes(b"PK\x03\x04 not a zip")
    (raw / "national" / "mystery_numbers.csv").write_text("a,b\n1,2\n")
    warehouse = tmp_path / "send.duckdb"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = dg.materialize([*national_assets, published_warehouse], resources={"refresh_run": refresh_run})
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    loads = {row[0]: row[1:] for row in con.execute("select source_file, status, message from meta.file_loads").fetchall()}
    quarantined = con.execute("select source_file, reasons from quarantine.files").fetchall()
    con.close()
    assert loads["timeliness_20_week.csv"][0] == "loaded"
    assert loads["education-health-and-care-plans_2030.zip"] == (
        "failed", "education-health-and-care-plans_2030.zip: the zip file is damaged or incomplete (File is not a zip file)")
    assert loads["mystery_numbers.csv"][0] == "unknown"
    assert loads["mystery_numbers.csv"][1].startswith("mystery_numbers.csv is not a known source, so it was not loaded")
    assert quarantined == [("education-health-and-care-plans_2030.zip", loads["education-health-and-care-plans_2030.zip"][1])]
    unread = result.asset_materializations_for_node("raw__unread_files")[0].metadata
    assert "damaged" in unread["cannot be opened"].value and "mystery_numbers.csv" in unread["not a known source"].value
    run = read_runs(warehouse)[0]
    assert run["status"] == "published", run
    assert "education-health-and-care-plans_2030.zip" in json.dumps(run), run
