"""The refresh engine as a Dagster resource: every run of the refresh job, whoever starts it, is one
`pipelines.refresh` session (writer lock, build copy, run log, notification), and the assets are thin
wrappers of its stages. The in-process executor initialises a resource once per run, so all the
run's steps share the session; its teardown ends the run (log, notify, remove an unpublished build)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from pipelines import config
from pipelines.defs.automation import CHANGED_SOURCES_TAG, changed_sources
from pipelines.refresh import STARTERS, refresh_session
from pipelines.refresh_state import plan_refresh

# A run tag naming who started the run; without it the schedule and sensor tags Dagster sets decide.
STARTED_BY_TAG = "send/started_by"


def started_by(tags: Mapping[str, str]) -> str:
    """schedule, sensor or ui (a run launched by hand in the Dagster UI) from a run's tags."""
    if tags.get(STARTED_BY_TAG) in STARTERS:
        return tags[STARTED_BY_TAG]
    if "dagster/schedule_name" in tags:
        return "schedule"
    if "dagster/sensor_name" in tags:
        return "sensor"
    return "ui"


@dg.resource(description="The refresh session of this run: the writer lock, the run's build copy of the "
                         "warehouse, the run log and the notification.")
def refresh_run(init_context: dg.InitResourceContext):
    tags = init_context.dagster_run.tags if init_context.dagster_run else {}
    with refresh_session(config.raw_dir(), config.warehouse_path(), started_by=started_by(tags),
                         run_id=init_context.run_id, on_wait=init_context.log.info) as session:
        dagster_run = init_context.dagster_run
        if dagster_run is not None and not dagster_run.asset_selection:
            # the whole job (a schedule's run of everything): publish records the fingerprint, as the
            # CLI's refresh does, so the next tick with nothing changed is skipped; a partial run records none
            session.plan = plan_refresh(session.raw_dir, session.published)
        elif dagster_run is not None and CHANGED_SOURCES_TAG in tags:
            # the schedule's run of what changed: recorded too, when it loads every source that changed
            # by now (a file changed since the tick leaves the fingerprint out, so the next tick runs)
            plan = plan_refresh(session.raw_dir, session.published)
            tables = changed_sources(plan, session.raw_dir)
            selected = {key.path[1] for key in dagster_run.asset_selection if len(key.path) == 2 and key.path[0] == "raw"}
            if tables is not None and tables <= selected:
                session.plan = plan
        yield session
