"""When refreshes run: a monthly schedule and a sensor on the drop-zone.

The schedule's day and time come from SEND_REFRESH_DAY (1-28, default 5) and SEND_REFRESH_TIME
(HH:MM, default 06:00), Europe/London. The sensor compares the drop-zone's files by content hash
(touching a file does nothing) and refreshes only the sources whose files changed, with everything
downstream of them.
"""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from pipelines import config
from pipelines.errors import SendScorecardError
from pipelines.ingest.rawfile import expand_paths, open_raw_files
from pipelines.ingest.sources import detect_source


def monthly_cron() -> str:
    day = int(os.environ.get("SEND_REFRESH_DAY", "5"))
    hour, minute = (int(part) for part in os.environ.get("SEND_REFRESH_TIME", "06:00").split(":"))
    if not 1 <= day <= 28:
        raise SendScorecardError("SEND_REFRESH_DAY must be a day of the month from 1 to 28.")
    return f"{minute} {hour} {day} * *"


def file_hashes(raw_dir: Path) -> dict[str, str]:
    """Content hash of every data file in the drop-zone, by path."""
    hashes = {}
    for path in expand_paths([raw_dir]) if raw_dir.exists() else []:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        hashes[str(path)] = digest.hexdigest()
    return hashes


def sources_of(path: Path) -> set[str]:
    """The raw tables a file feeds (several for a release zip); unknown files feed none."""
    tables = set()
    try:
        for raw in open_raw_files(path):
            try:
                tables.add(detect_source(raw.base_name, raw.name).table)
            except SendScorecardError:
                continue
    except SendScorecardError:
        return set()
    return tables


def build_automation(refresh_job):
    schedule = dg.ScheduleDefinition(
        name="monthly_refresh", job=refresh_job, cron_schedule=monthly_cron(),
        execution_timezone="Europe/London", default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The full monthly refresh of every source, model, report and the publish step.",
    )

    @dg.sensor(job=refresh_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a refresh of just the changed sources (by content hash) and their downstream.")
    def drop_zone_sensor(context: dg.SensorEvaluationContext):
        previous = json.loads(context.cursor) if context.cursor else {}
        current = file_hashes(config.raw_dir())
        changed = [Path(p) for p, digest in current.items() if previous.get(p) != digest]
        context.update_cursor(json.dumps(current))
        tables = set().union(*(sources_of(p) for p in changed)) if changed else set()
        if not tables:
            return dg.SkipReason("No new or changed files in the drop-zone.")
        selection = dg.AssetSelection.assets(*[dg.AssetKey(["raw", t]) for t in sorted(tables)]).downstream()
        keys = selection.resolve(context.repository_def.asset_graph)
        run_key = hashlib.sha256(json.dumps(sorted(current.items())).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=run_key, asset_selection=sorted(keys),
                             tags={"changed_sources": ",".join(sorted(tables))})

    return schedule, drop_zone_sensor
