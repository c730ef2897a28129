"""The refresh: load what changed, build the models, publish atomically, report the run.

Stages: prepare (copy the published warehouse to a build file) -> ingest (unchanged files are
skipped by hash; a failed or quarantined file keeps its source's last good data) -> dbt build
(models and every test) -> publish (atomic rename) -> reports (the scorecard for the configured
LA and the data-quality report, read from the published file). Anything that fails before
publish leaves the published warehouse untouched. Every run, published or failed, is appended to
`<warehouse dir>/runs.jsonl` and (when published) to meta.refresh_runs in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines import config
from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import LoadResult, connect_warehouse, ingest_paths
from pipelines.jobs import dbt_models_exist
from pipelines.notify import notify
from pipelines.publish import discard_build, prepare_build, publish, refresh_lock
from pipelines.restricted import move_restricted

STAGES = ("prepare", "ingest", "dbt", "publish", "reports")


@dataclass
class RefreshSummary:
    """What one refresh did, for the CLI, the run log and notifications."""

    run_id: str
    started_at: str
    status: str = "running"  # published | failed
    failed_step: str | None = None
    message: str = ""
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    snapshot: str | None = None
    reports: list[str] = field(default_factory=list)
    kpis_changed: int = 0
    rag_changes: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        sources = (f"{len(self.loaded)} file(s) loaded, {len(self.skipped)} unchanged, "
                   f"{len(self.quarantined)} refused")
        if self.status == "published":
            changes = f"{self.kpis_changed} KPI value(s) changed, {len(self.rag_changes)} RAG change(s)"
            return f"Refresh {self.run_id} published in {self.seconds:.0f} s: {sources}; {changes}."
        return f"Refresh {self.run_id} failed at the {self.failed_step} step: {self.message}"

    def text(self) -> str:
        """The sentence, the refused files and the RAG changes, for notifications."""
        lines = [self.sentence()]
        lines += [f"Refused: {name}" for name in self.quarantined]
        lines += [f"RAG change: {change}" for change in self.rag_changes]
        return "\n".join(lines)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def runs_log(published: Path) -> Path:
    return published.parent / "runs.jsonl"


def _pause_point(stage: str) -> None:
    """Fault-injection hook for the reliability tests: SEND_REFRESH_PAUSE_AT=<stage> makes the
    refresh announce the stage in SEND_REFRESH_PAUSE_FILE and sleep, so a test can kill it there."""
    if os.environ.get("SEND_REFRESH_PAUSE_AT") == stage:
        marker = os.environ.get("SEND_REFRESH_PAUSE_FILE")
        if marker:
            Path(marker).write_text(stage)
        time.sleep(float(os.environ.get("SEND_REFRESH_PAUSE_SECONDS", "30")))


def run_refresh(raw_dir: Path, published: Path, *,
                ingest: Callable[[list[Path], Path], list[LoadResult]] | None = None,
                dbt: Callable[[Path], object] | None = None,
                write_reports: Callable[[Path], list[Path]] | None = None,
                on_stage: Callable[[str], None] | None = None,
                run_id: str | None = None) -> RefreshSummary:
    """Run the whole refresh for `raw_dir` into `published`; raise SendScorecardError on failure.

    `ingest(paths, warehouse)` and `dbt(warehouse)` default to the plain loader and dbt build; the
    CLI passes versions that show progress. `write_reports(published)` (optional) runs after publish.
    """
    summary = RefreshSummary(run_id=run_id or new_run_id(), started_at=dt.datetime.now().isoformat(timespec="seconds"))
    started = time.monotonic()
    step = "prepare"
    build: Path | None = None
    with refresh_lock(published):
        try:
            for step in STAGES:
                if on_stage:
                    on_stage(step)
                stage_started = time.monotonic()
                if step == "prepare":
                    build = prepare_build(published, summary.run_id)
                elif step == "ingest":
                    results = (ingest or _plain_ingest)([raw_dir], build)
                    _note_results(summary, results)
                elif step == "dbt" and dbt_models_exist():
                    (dbt or _plain_dbt)(build)
                elif step == "publish":
                    summary.status = "published"
                    summary.seconds = time.monotonic() - started
                    _compare_with_published(build, published, summary)
                    _record_in_warehouse(build, summary)
                    move_restricted(build, published)  # person-level tables go to the owner-only file
                    snapshot = publish(build, published, before_replace=lambda: _pause_point("publish"))
                    summary.snapshot = str(snapshot) if snapshot else None
                elif step == "reports" and write_reports:
                    summary.reports = [str(p) for p in write_reports(published)]
                if step != "publish":
                    _pause_point(step)  # after the stage's work: the build file is half-made here
                summary.stage_seconds[step] = round(time.monotonic() - stage_started, 2)
        except BaseException as exc:  # whatever stopped it, the build is never published
            if build is not None:
                discard_build(build)
            if summary.status == "published":  # only the reports failed: the new data is out
                summary.message = f"published, but the reports could not be written: {exc}"
                summary.seconds = time.monotonic() - started
                _append_log(published, summary)
                raise SendScorecardError(
                    f"Refresh {summary.run_id} published the warehouse, but the reports could not be written: {exc}"
                ) from exc
            summary.status, summary.failed_step = "failed", step
            summary.message = str(exc) or type(exc).__name__
            summary.seconds = time.monotonic() - started
            _append_log(published, summary)
            notify(asdict(summary), summary.text())
            if isinstance(exc, SendScorecardError | OSError):
                raise SendScorecardError(summary.sentence()) from exc
            raise
    summary.seconds = time.monotonic() - started
    _append_log(published, summary)
    notify(asdict(summary), summary.text())
    return summary


def _plain_ingest(paths: list[Path], warehouse: Path) -> list[LoadResult]:
    con = connect_warehouse(warehouse)
    try:
        return ingest_paths(con, paths)
    finally:
        con.close()


def _plain_dbt(warehouse: Path) -> object:
    from pipelines.dbt_runner import dbt_build

    return dbt_build(warehouse)


def _note_results(summary: RefreshSummary, results: list[LoadResult]) -> None:
    for r in results:
        {"loaded": summary.loaded, "skipped": summary.skipped}.get(r.status, summary.quarantined).append(r.file)


def _compare_with_published(build: Path, published: Path, summary: RefreshSummary) -> None:
    """KPI values that changed since the published warehouse, and the RAG changes of the scorecard LA."""
    if not published.exists():
        return
    con = connect_warehouse(build)
    try:
        con.execute(f"attach '{published}' as previous (read_only)")
        present = con.execute("""select count(*) from duckdb_tables()
            where table_name = 'fct_scorecard' and schema_name = 'marts'""").fetchall()[0][0]
        if present == 2:  # in both files
            summary.kpis_changed = con.execute("""select count(*) from marts.fct_scorecard as n
                join previous.marts.fct_scorecard as o using (la_code, kpi_id)
                where n.value is distinct from o.value or n.period_key is distinct from o.period_key""").fetchall()[0][0]
            la = config.scorecard_la() or ""
            summary.rag_changes = [f"{la_name} {kpi}: {old} -> {new}" for la_name, kpi, old, new in con.execute("""
                select n.la_name, n.kpi_id, o.rag_status, n.rag_status from marts.fct_scorecard as n
                join previous.marts.fct_scorecard as o using (la_code, kpi_id)
                where n.rag_status is distinct from o.rag_status
                  and (n.la_code = $la or lower(n.la_name) = lower($la))
                order by n.display_order""", {"la": la}).fetchall()]
        con.execute("detach previous")
    finally:
        con.close()


def _record_in_warehouse(build: Path, summary: RefreshSummary) -> None:
    con = connect_warehouse(build)
    try:
        con.execute("create schema if not exists meta")
        con.execute("""create table if not exists meta.refresh_runs (run_id varchar, started_at timestamp,
            seconds double, loaded integer, skipped integer, quarantined integer, summary json)""")
        con.execute("insert into meta.refresh_runs values (?, ?, ?, ?, ?, ?, ?)", [
            summary.run_id, summary.started_at, summary.seconds, len(summary.loaded), len(summary.skipped),
            len(summary.quarantined), json.dumps(asdict(summary)),
        ])
        con.execute("checkpoint")
    finally:
        con.close()


def _append_log(published: Path, summary: RefreshSummary) -> None:
    log = runs_log(published)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(asdict(summary)) + "\n")
    except OSError:
        pass  # the run log must never turn a published refresh into a failure


def read_runs(published: Path, limit: int = 20) -> list[dict]:
    """The most recent refreshes, newest first."""
    log = runs_log(published)
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [json.loads(line) for line in reversed(lines[-limit:]) if line.strip()]
