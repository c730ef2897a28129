"""When refreshes run: a monthly schedule and a sensor on the drop-zone.

The schedule's day and time come from SEND_REFRESH_DAY (1-28, default 5) and SEND_REFRESH_TIME
(HH:MM, default 06:00), Europe/London. A tick whose drop-zone, dbt project, code and settings are
those of the published refresh (the CLI's nothing-changed check) starts nothing and says so. A tick
after only drop-zone files changed refreshes what the CLI's refresh would rebuild: the sources of the
changed files and everything downstream of them (and of meta.file_loads), as the CLI's state-based
dbt selection does (`changed_sources`); a change of the dbt project, code or settings, no published
state, or a changed file whose source cannot be told, refreshes everything.

The sensor's state is the published warehouse itself: a file
whose content hash is in meta.file_loads (loaded, or refused by its quality gate) starts nothing, so
`dagster dev` on an up-to-date warehouse starts no run, touching a file does nothing and a refused
file is retried only when its bytes change. Only the new files' sources and everything downstream of
them are refreshed.
"""

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import config
from pipelines.defs.national import UNREAD_KEY
from pipelines.defs.warehouse import warehouse_models
from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import connect_warehouse, table_exists
from pipelines.ingest.rawfile import expand_paths, is_data_file, open_raw_files
from pipelines.ingest.sen2.load import file_sha256, is_sen2_input, sen2_inputs
from pipelines.ingest.sources import SOURCES, detect_source
from pipelines.refresh_state import RefreshPlan, plan_refresh

SEN2_TABLE = next(spec.table for spec in SOURCES if spec.family == "sen2_return")
# The tag of a scheduled run that refreshes only what changed: the raw tables of the changed files.
CHANGED_SOURCES_TAG = "send/changed_sources"


def monthly_cron() -> str:
    day = int(os.environ.get("SEND_REFRESH_DAY", "5"))
    hour, minute = (int(part) for part in os.environ.get("SEND_REFRESH_TIME", "06:00").split(":"))
    if not 1 <= day <= 28:
        raise SendScorecardError("SEND_REFRESH_DAY must be a day of the month from 1 to 28.")
    return f"{minute} {hour} {day} * *"


def drop_zone_files(raw_dir: Path, cache: dict) -> tuple[list[tuple[str, str]], dict]:
    """(content hash, raw table) of every data file the loader would load from the drop-zone, the
    members of a release zip one by one, as the loader records them in meta.file_loads.

    `cache` maps a path to its size, modification time and result from the previous tick, so an
    unchanged drop-zone is not read again; returns the files and the new cache. A file that cannot
    be opened or matched is left to the monthly run, which reports it.
    """
    found, new_cache = [], {}
    paths = expand_paths([raw_dir]) if raw_dir.exists() else []
    # SEN2 XML returns (not data files of a SourceSpec) are recorded by their file hash; a flat
    # export is several files recorded under one hash and is left to the monthly run.
    paths += [files[0] for files in sen2_inputs([raw_dir]) if files[0].suffix.lower() == ".xml"]
    for path in paths:
        stat = path.stat()
        key = [stat.st_size, stat.st_mtime_ns]
        cached = cache.get(str(path))
        if cached and cached[0] == key:
            members = cached[1]
        elif is_sen2_input(path):
            members = [[file_sha256(path), SEN2_TABLE]] if path.suffix.lower() == ".xml" else []
        else:
            members = []
            try:
                for raw in open_raw_files(path):
                    try:
                        members.append([raw.sha256, detect_source(raw.base_name, raw.name).table])
                    except SendScorecardError:
                        continue
            except SendScorecardError:
                members = []
        new_cache[str(path)] = [key, members]
        found += [(sha, table) for sha, table in members]
    return found, new_cache


def changed_sources(plan: RefreshPlan, raw_dir: Path) -> set[str] | None:
    """The raw tables of the drop-zone files that are new or changed since the published refresh, when
    the refresh may rebuild only what depends on them (the CLI's dbt selection is then those sources'
    dependants and meta.file_loads'); None when it rebuilds everything: no published state, or the dbt
    project, the code or the settings changed (plan.selective; the CLI builds the changed dbt nodes by
    state:modified+, which takes dbt to resolve, so this door builds everything then), or a changed data
    file that cannot be opened (the whole job reads every file again). A file of no known source and a
    file that is not data (the scorecard settings) load nothing: they change no raw table (the unread files'
    step, in every run, lists a file of no known source)."""
    previous = plan.previous
    if not plan.selective or previous is None or plan.fingerprint.dbt != previous.fingerprint.dbt:
        return None
    old, new = previous.fingerprint.sources, plan.fingerprint.sources
    tables: set[str] = set()
    for name in sorted(n for n in new if old.get(n) != new[n]):
        path = Path(raw_dir) / name
        if is_sen2_input(path):
            tables.add(SEN2_TABLE)
        elif is_data_file(path):
            try:
                for raw in open_raw_files(path):
                    try:
                        tables.add(detect_source(raw.base_name, raw.name).table)
                    except SendScorecardError:
                        continue
            except SendScorecardError:
                return None
    return tables


def changed_selection(plan: RefreshPlan, raw_dir: Path, graph) -> tuple[set[str], list[dg.AssetKey]] | None:
    """What the schedule's run refreshes after only drop-zone files changed: (the raw tables of the changed
    files, the asset keys of those raw assets, of the models outside the dbt sources (meta.file_loads'
    readers, plan.outside_source_models, as the CLI's dbt selection), of the unread files' step (every run
    lists the files no source reads, as the CLI's does) and of everything downstream of them, the publish
    step and the reports included); None for the whole job (changed_sources)."""
    tables = changed_sources(plan, raw_dir)
    if tables is None:
        return None
    outside = set(plan.outside_source_models())
    return tables, run_selection(tables, graph, [key for key in warehouse_models.keys if key.path[-1] in outside])


def run_selection(tables: set[str], graph, also: Iterable[dg.AssetKey] = ()) -> list[dg.AssetKey]:
    """The asset keys a selective run refreshes: the raw assets of `tables`, `also`, the unread files' step
    (every run lists the files no source reads, as the CLI's does) and everything downstream of them."""
    selection = dg.AssetSelection.assets(UNREAD_KEY, *also, *[dg.AssetKey(["raw", t]) for t in sorted(tables)])
    return sorted(selection.downstream().resolve(graph))


def published_hashes(published: Path) -> set[str]:
    """The content hash of every file the published warehouse has seen (loaded or refused)."""
    con = connect_warehouse(published, read_only=True)
    try:
        if not table_exists(con, "meta", "file_loads"):
            return set()
        return {row[0] for row in con.execute("select distinct file_sha256 from meta.file_loads").fetchall()}
    finally:
        con.close()


def build_automation(refresh_job):
    @dg.schedule(name="monthly_refresh", job=refresh_job, cron_schedule=monthly_cron(),
                 execution_timezone="Europe/London", default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="The monthly refresh: the sources whose drop-zone files changed and every model, "
                             "report and the publish step downstream of them (everything when the dbt project, "
                             "code or settings changed); skipped, saying so, when nothing changed since the "
                             "published refresh.")
    def schedule(context: dg.ScheduleEvaluationContext):
        raw_dir = config.raw_dir()
        plan = plan_refresh(raw_dir, config.warehouse_path())  # the CLI's check: hashes, no loading
        if plan.unchanged:
            return dg.SkipReason(f"Nothing to refresh: {plan.reason} (drop-zone files, dbt project, code and "
                                 "settings are the published refresh's), so the published warehouse stays as it is.")
        tags = {"changed": "; ".join(plan.changes)[:200] or plan.reason}
        changed = changed_selection(plan, raw_dir, context.repository_def.asset_graph)
        if changed is None:  # the whole job
            return dg.RunRequest(tags=tags)
        tables, keys = changed
        return dg.RunRequest(asset_selection=keys, tags={**tags, CHANGED_SOURCES_TAG: ",".join(sorted(tables))})

    @dg.sensor(job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a refresh of the sources whose files the published warehouse has not seen "
                           "(by content hash, loaded or refused) and of everything downstream of them.")
    def drop_zone_sensor(context: dg.SensorEvaluationContext):
        published = config.warehouse_path()
        if not published.exists():
            return dg.SkipReason(f"There is no published warehouse at {published} yet: the first load is "
                                 "started by hand (the refresh job, send-scorecard refresh or make demo).")
        try:
            known = published_hashes(published)
        except (SendScorecardError, duckdb.Error) as exc:
            return dg.SkipReason(f"The published warehouse could not be read ({exc}); trying again at the next tick.")
        files, cache = drop_zone_files(config.raw_dir(), json.loads(context.cursor) if context.cursor else {})
        context.update_cursor(json.dumps(cache))  # only a cache of file hashes: the state is the warehouse
        new = sorted({(sha, table) for sha, table in files if sha not in known})
        if not new:
            return dg.SkipReason("The published warehouse has seen every file in the drop-zone (loaded or refused).")
        tables = sorted({table for _, table in new})
        keys = run_selection(set(tables), context.repository_def.asset_graph)
        run_key = hashlib.sha256(json.dumps(new).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=run_key, asset_selection=keys,
                             tags={"changed_sources": ",".join(tables)})

    return schedule, drop_zone_sensor
