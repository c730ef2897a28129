"""The refresh engine: one core that every door runs (the Dagster schedule, the drop-zone sensor, a
run launched from the Dagster UI, `send-scorecard refresh` and `make demo`).

A run is a `RefreshRun` opened by `refresh_session`, which holds the warehouse's writer lock for the
whole run and, however the run ends, appends it to `<warehouse dir>/runs.jsonl`, notifies and removes
its unpublished build copy. Its stages are separate methods so that a door can call them one by one
(the Dagster assets are thin wrappers of them) or all at once (`run_refresh`):

    prepare  copy the published warehouse to the run's build file (made on first use)
    ingest   load the drop-zone's files (unchanged files are skipped by hash; a refused file is
             quarantined and its source keeps its last good data: the rest is still published)
    dbt      build the models and run their data tests on the build file (then the unit tests, when
             what they check changed since they last passed here: dbt_runner.UnitTestRecord)
    publish  compare KPI values and RAG ratings with the published file, record the run in
             meta.refresh_runs, swap the build file in (atomic rename)
    reports  the scorecard of the configured LA and the data-quality report, from the published file

Anything that fails before publish leaves the published warehouse untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import config
from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import (
    LoadResult,
    connect_warehouse,
    ingest_paths,
    record_unread,
)
from pipelines.ingest.rawfile import expand_paths
from pipelines.ingest.sen2.load import expected_la_numbers, load_sen2, sen2_inputs
from pipelines.ingest.sources import SourceSpec, detect_source
from pipelines.jobs import dbt_models_exist, prepare_outputs, write_outputs
from pipelines.notify import notify
from pipelines.publish import discard_build, prepare_build, publish, writer_lock
from pipelines.refresh_state import RefreshPlan, dbt_settings, engine_versions, plan_refresh, record_state
from pipelines.restricted import move_restricted, restore_restricted

if TYPE_CHECKING:
    import duckdb

    from pipelines.dbt_runner import RunSummary

STAGES = ("prepare", "ingest", "dbt", "publish", "reports")
# Who can start a run (shown by `send-scorecard runs`).
STARTERS = ("schedule", "sensor", "ui", "cli", "demo")
# The SEN2 person-level returns: loaded by their own streaming loader, not through a SourceSpec.
SEN2 = "sen2"
UNREAD = "unread"  # RefreshRun.ingest(only=UNREAD): the drop-zone files no source reads


@dataclass
class RefreshSummary:
    """What one refresh did, for the CLI, the run log and notifications."""

    run_id: str
    started_at: str
    started_by: str = "cli"
    status: str = "running"  # published | unchanged | failed
    failed_step: str | None = None
    message: str = ""
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    refusals: dict[str, str] = field(default_factory=dict)  # refused file -> the reason, in one sentence
    not_known: list[str] = field(default_factory=list)  # files of no known source (with the nearest)
    warnings: list[str] = field(default_factory=list)  # e.g. what a newer release no longer carries
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    snapshot: str | None = None
    reports: list[str] = field(default_factory=list)
    kpis_changed: int = 0
    rag_changes: list[str] = field(default_factory=list)
    dbt: str = ""  # what the dbt build ran, in one sentence (with the unit tests skipped as unchanged)

    def sentence(self) -> str:
        sources = (f"{len(self.loaded)} file(s) loaded, {len(self.skipped)} unchanged, "
                   f"{len(self.quarantined)} refused"
                   + (f", {len(self.not_known)} not a known source" if self.not_known else ""))
        who = f" (started by {self.started_by})"
        if self.status == "unchanged":
            return f"Refresh {self.run_id}{who}: {self.message}; the published warehouse is up to date ({sources})."
        if self.status == "published":
            changes = f"{self.kpis_changed} KPI value(s) changed, {len(self.rag_changes)} RAG change(s)"
            extra = f" {self.message}" if self.message else ""
            return f"Refresh {self.run_id}{who} published in {self.seconds:.0f} s: {sources}; {changes}.{extra}"
        return f"Refresh {self.run_id}{who} failed at the {self.failed_step} step: {self.message}"

    def text(self) -> str:
        """The sentence, the refused files with their reasons and the RAG changes, for notifications."""
        lines = [self.sentence()]
        lines += [f"Refused: {self.refusals.get(name) or name}" for name in self.quarantined]
        lines += [f"Not a known source: {message}" for message in self.not_known]
        lines += [f"Warning: {message}" for message in self.warnings]
        lines += [f"RAG change: {change}" for change in self.rag_changes]
        return "\n".join(lines)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def runs_log(published: Path) -> Path:
    return published.parent / "runs.jsonl"


def _pause_point(stage: str) -> None:
    """Fault-injection hook for the reliability tests: SEND_REFRESH_PAUSE_AT=<stage> makes the
    refresh announce the stage in SEND_REFRESH_PAUSE_FILE and wait there, so a test can kill it there:
    for SEND_REFRESH_PAUSE_SECONDS (default 30), or until the test removes that file (the run goes on)."""
    if os.environ.get("SEND_REFRESH_PAUSE_AT") == stage:
        marker = os.environ.get("SEND_REFRESH_PAUSE_FILE")
        if marker:
            Path(marker).write_text(stage)
        end = time.monotonic() + float(os.environ.get("SEND_REFRESH_PAUSE_SECONDS", "30"))
        while time.monotonic() < end and (not marker or Path(marker).exists()):
            time.sleep(0.05)


class RefreshRun:
    """One refresh of `published` from `raw_dir`, open inside `refresh_session`."""

    def __init__(self, raw_dir: Path, published: Path, *, started_by: str, run_id: str | None = None,
                 write_reports: Callable[[Path], list[Path]] | None = write_outputs,
                 on_stage: Callable[[str], None] | None = None):
        self.raw_dir, self.published = Path(raw_dir), Path(published)
        self.summary = RefreshSummary(run_id=run_id or new_run_id(), started_by=started_by,
                                      started_at=dt.datetime.now().isoformat(timespec="seconds"))
        self.write_reports = write_reports
        self.on_stage = on_stage
        self.started = time.monotonic()
        self._build: Path | None = None
        self.step = "prepare"
        self.announced: set[str] = set()
        self.plan: RefreshPlan | None = None  # the CLI door's change detection (None: build everything)
        self.results: list[LoadResult] = []
        self.dbt_manifest: str | None = None  # the manifest.json of this run's dbt build (for the state)
        self._warm_dbt = None  # a dbt process started ahead of the dbt stage (warm_dbt)

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    @property
    def published_done(self) -> bool:
        return self.summary.status == "published"

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage (a stage may be entered several times, e.g. once per source); a failure
        inside it is recorded as the run's failed step and passed on."""
        self.step = name
        if self.on_stage and name not in self.announced:
            self.on_stage(name)
        self.announced.add(name)
        started = time.monotonic()
        try:
            yield
        except BaseException as exc:
            if self.published_done:  # only a step after publish failed: the new data is out
                self.summary.message = f"Published, but the {name} step failed: {exc or type(exc).__name__}"
            else:
                self.summary.failed_step = name
                self.summary.message = str(exc) or type(exc).__name__
            raise
        finally:
            self.summary.stage_seconds[name] = round(
                self.summary.stage_seconds.get(name, 0.0) + time.monotonic() - started, 2)
        if name != "publish":
            _pause_point(name)  # after the stage's work: the build file is half-made here

    # --- the stages ---------------------------------------------------------------------------------

    @property
    def build(self) -> Path:
        """The run's build copy of the warehouse (made from the published one on first use)."""
        if self._build is None:
            with self.stage("prepare"):
                self._build = prepare_build(self.published, self.run_id)
                restore_restricted(self._build, self.published)  # the person-level tables, for this run only
        return self._build

    def ingest(self, only: SourceSpec | str | None = None,
               loader: Callable[[list[Path], Path], list[LoadResult]] | None = None) -> list[LoadResult]:
        """Load the drop-zone into the build file: everything, or just the files of source `only`
        (a SourceSpec, SEN2 for the SEN2 returns, or UNREAD for the files no source reads: of no known
        source, or that cannot be opened, recorded as a whole load records them). A file that fails or is
        quarantined is noted and does not stop the run."""
        build = self.build
        with self.stage("ingest"):
            refuse_local_extracts_without_la(self.raw_dir, only)
            if loader is not None and only is None:
                results = loader([self.raw_dir], build)
            else:
                con = connect_build(build)
                try:
                    if only is None:
                        results = ingest_paths(con, [self.raw_dir])
                    elif only == UNREAD:
                        results = record_unread(con, [self.raw_dir])
                    elif only == SEN2:
                        returns = sen2_inputs([self.raw_dir])
                        expected = expected_la_numbers(config.scorecard_la()) if returns else None
                        results = [load_sen2(con, files, expected_la=expected) for files in returns]
                    else:
                        results = ingest_paths(con, [self.raw_dir], only=only)
                finally:
                    con.close()
            _quarantine_unreadable(build, results, self.run_id)
            self.results += results
            for r in results:
                if r.status == "unknown":  # not a known source: listed with the nearest, never refused
                    self.summary.not_known.append(r.message)
                elif r.status == "loaded":
                    self.summary.loaded.append(r.file)
                    if r.message.startswith("warning:"):  # e.g. an LA a newer release no longer carries
                        self.summary.warnings.append(f"{r.file}: {r.message}")
                elif r.status == "skipped":
                    self.summary.skipped.append(r.file)
                else:
                    self.summary.quarantined.append(r.file)
                    self.summary.refusals[r.file] = r.message
        return results

    @contextlib.contextmanager
    def dbt_target(self) -> Iterator[Path]:
        """dbt reads the warehouse from SEND_WAREHOUSE (profiles.yml): point it at the build file for
        the stage and restore the variable after, so publish still sees the published path."""
        with config.setting("SEND_WAREHOUSE", str(self.build)):
            yield self.build

    def check_unchanged(self) -> bool:
        """Nothing changed since the published warehouse (files, dbt project, engine versions): the
        run publishes nothing and says so. Sets the plan that the dbt stage selects by."""
        with self.stage("check"):
            self.plan = plan_refresh(self.raw_dir, self.published)
            if self.plan.unchanged:
                self.summary.status, self.summary.message = "unchanged", self.plan.reason
                self.summary.skipped = sorted(self.plan.fingerprint.sources)
        return self.plan.unchanged

    def warm_dbt(self) -> None:
        """Start dbt (import, project, saved parse) in its own process now, so that its start-up runs
        beside the ingest instead of before the first model: only for an incremental refresh (a
        published state to compare with), where the ingest is short and the extra process's memory
        does not add to a cold ingest's peak."""
        from pipelines.dbt_runner import WarmDbt

        if self._warm_dbt is None and self.plan is not None and self.plan.previous is not None \
                and not self.plan.unchanged and dbt_models_exist():
            self._warm_dbt = WarmDbt()

    def dbt(self, runner: Callable[[Path], object] | None = None) -> object:
        """dbt build (seeds, models and every test) on the build file; raises if anything fails. With
        a plan, only what depends on the changed sources and definitions (state-based selection)."""
        from pipelines.dbt_runner import UnitTestRecord, dbt_build, dbt_unit_tests

        with self.stage("dbt"):
            if not dbt_models_exist():
                return None
            if runner is not None:  # a caller's own dbt step (tests)
                return runner(self.build)
            if self.plan is None:
                summary = dbt_build(self.build)
            else:
                plan, build = self.plan, self.build
                select = plan.dbt_selection(r.source for r in self.results if r.status == "loaded" and r.source)
                with plan.state_dir() as state:
                    state = state if select else None
                    warm, self._warm_dbt = self._warm_dbt, None
                    # while dbt builds in its own process, this one gets the reports stage ready
                    meanwhile = prepare_outputs if self.write_reports is write_outputs else None
                    summary = (warm.build(build, select=select, state=state, meanwhile=meanwhile, unit_tests=False)
                               if warm is not None else dbt_build(build, select=select, state=state, unit_tests=False))
                # then the unit tests, all of them, when what they check changed since they all passed
                # here: read after the build, from the relations they are typed by as it left them
                record = UnitTestRecord(_unit_test_key(plan, build, summary))
                if summary.unit_tests and record.passed_at() is None:
                    tested = dbt_unit_tests(build, UnitTestRecord.not_run(summary))
                    summary.results += tested.results
                    summary.seconds += tested.seconds
                    record.update(summary)
                else:
                    summary.unit_tests_skipped = len(summary.unit_tests)
            self.dbt_manifest = summary.manifest
            self.summary.dbt = summary.sentence()
            return summary

    def publish(self) -> Path | None:
        """Diff against the published file, record the run in it, and swap the build file in."""
        build = self.build
        with self.stage("publish"):
            self.summary.seconds = time.monotonic() - self.started
            _compare_with_published(build, self.published, self.summary)
            self.summary.status = "published"  # as recorded in the file; undone below if the swap fails
            try:
                _record_in_warehouse(build, self.summary, self.plan, self.dbt_manifest)
                move_restricted(build, self.published)  # person-level tables go to the owner-only file
                snapshot = publish(build, self.published, before_replace=lambda: _pause_point("publish"))
            except BaseException:
                self.summary.status = "running"
                raise
            self._build = None
            self.summary.snapshot = str(snapshot) if snapshot else None
        return snapshot

    def reports(self) -> list[str]:
        """The scorecard and data-quality report from the published warehouse (after publish)."""
        with self.stage("reports"):
            if self.write_reports:
                self.summary.reports = [str(p) for p in self.write_reports(self.published)]
        return self.summary.reports

    # --- the end of a run ----------------------------------------------------------------------------

    def finish(self, error: BaseException | None = None) -> None:
        """Remove the unpublished build, log the run and notify, whatever happened."""
        if self._warm_dbt is not None:  # dbt started ahead and not needed (e.g. the ingest failed)
            self._warm_dbt.close()
            self._warm_dbt = None
        if self._build is not None:
            discard_build(self._build)
            self._build = None
        summary = self.summary
        summary.seconds = time.monotonic() - self.started
        if summary.status not in ("published", "unchanged"):
            summary.status = "failed"
            if error is not None and not summary.failed_step:
                summary.failed_step, summary.message = self.step, str(error) or type(error).__name__
            if not summary.failed_step:  # the run ended without reaching publish (e.g. a partial selection)
                summary.failed_step = "publish"
                summary.message = summary.message or "the run ended before the publish step; nothing was published"
        _append_log(self.published, summary)
        if summary.status != "unchanged":  # an unchanged run has nothing to tell
            notify(asdict(summary), summary.text())


def _lock_holder(started_by: str, run_id: str) -> str:
    return f"refresh {run_id} (started by {started_by})"


@contextlib.contextmanager
def refresh_session(raw_dir: Path, published: Path, *, started_by: str, run_id: str | None = None,
                    write_reports: Callable[[Path], list[Path]] | None = write_outputs,
                    on_stage: Callable[[str], None] | None = None,
                    on_wait: Callable[[str], None] | None = None) -> Iterator[RefreshRun]:
    """Hold the writer lock for a whole run; log, notify and clean up however it ends."""
    if started_by not in STARTERS:
        raise ValueError(f"started_by must be one of {', '.join(STARTERS)}, not {started_by!r}")
    run = RefreshRun(raw_dir, published, started_by=started_by, run_id=run_id, write_reports=write_reports,
                     on_stage=on_stage)
    with writer_lock(run.published, _lock_holder(started_by, run.run_id), on_wait=on_wait), fewer_collections():
        try:
            yield run
        except BaseException as exc:
            run.finish(exc)
            raise
        run.finish()


# Python's cyclic garbage collector runs a young collection every 700 new objects and a full one every 100
# young ones: a cold refresh allocates millions of objects that live until the run ends (dbt's manifest and
# Jinja, the reports), so the collector ran about 1,500 times in the dbt stage and re-walked the whole heap
# on each full pass, 1.5-2 CPU s per refresh for next to no garbage (measured with gc.callbacks). During a
# run it collects every 20,000 new objects instead (peak memory unchanged, 873-880 MB cold); the loader
# still collects after each file (pipelines/ingest/loader.py).
REFRESH_GC_THRESHOLD = (20_000, 20, 20)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """REFRESH_GC_THRESHOLD for the run, the process's own thresholds again after it, however it ends."""
    before = gc.get_threshold()
    gc.set_threshold(*REFRESH_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_refresh(raw_dir: Path, published: Path, *,
                ingest: Callable[[list[Path], Path], list[LoadResult]] | None = None,
                dbt: Callable[[Path], object] | None = None,
                write_reports: Callable[[Path], list[Path]] | None = write_outputs,
                on_stage: Callable[[str], None] | None = None,
                on_wait: Callable[[str], None] | None = None,
                started_by: str = "cli", run_id: str | None = None) -> RefreshSummary:
    """Every stage in order (the CLI's and the demo's door); raise SendScorecardError on failure.

    `ingest(paths, warehouse)` (optional) replaces the plain loader, e.g. by one that shows progress;
    `dbt(warehouse)` (optional) replaces the dbt stage.
    """
    with refresh_session(raw_dir, published, started_by=started_by, run_id=run_id, write_reports=write_reports,
                         on_stage=on_stage, on_wait=on_wait) as run:
        try:
            if run.check_unchanged():
                return run.summary
            if dbt is None:
                run.warm_dbt()
            run.ingest(loader=ingest)
            run.dbt(runner=dbt)
            run.publish()
            run.reports()
        except (SendScorecardError, OSError) as exc:
            if run.published_done:
                raise SendScorecardError(
                    f"Refresh {run.run_id} published the warehouse, but the reports could not be written: {exc}"
                ) from exc
            run.summary.status, run.summary.failed_step = "failed", run.summary.failed_step or run.step
            raise SendScorecardError(run.summary.sentence()) from exc
    return run.summary


def refuse_local_extracts_without_la(raw_dir: Path, only: SourceSpec | str | None = None) -> None:
    """Local extracts and SEN2 returns are one LA's figures: without SEND_SCORECARD_LA they would belong
    to no LA, so the run stops before loading anything and says what to set (the published warehouse
    is untouched)."""
    if config.scorecard_la() or only == UNREAD or (isinstance(only, SourceSpec) and not only.family.startswith("local_")):
        return
    local = [path.name for path in expand_paths([raw_dir]) if only != SEN2 and _is_local_extract(path.name)]
    local += [files[0].name for files in sen2_inputs([raw_dir]) if only in (None, SEN2)]
    if local:
        shown = ", ".join(local[:3]) + (f" and {len(local) - 3} more" if len(local) > 3 else "")
        raise SendScorecardError(
            f"The drop-zone has local extracts ({shown}) but SEND_SCORECARD_LA is not set, so nothing says "
            "whose figures they are: set SEND_SCORECARD_LA to your LA's code, 3-digit number or name "
            "(README, Settings) and run the refresh again.")


def _is_local_extract(name: str) -> bool:
    try:
        return detect_source(name).family.startswith("local_")
    except SendScorecardError:  # not a known source: listed by the loader, not refused here
        return False


def _quarantine_unreadable(build: Path, results: list[LoadResult], run_id: str) -> None:
    """A file refused before its quality gate could run (unreadable, or a local extract without the
    pseudonymisation key) goes to quarantine.files with its reason, like a file the gate refused."""
    from pipelines.quality.gates import ensure_dq_tables

    failed = [r for r in results if r.status == "failed"]
    if not failed:
        return
    con = connect_warehouse(build)
    try:
        ensure_dq_tables(con)
        con.executemany("insert into quarantine.files values (?, ?, ?, ?, ?, ?, ?)", [
            [run_id, r.source, r.file, r.sha256, r.rows, r.message, dt.datetime.now()] for r in failed])
    finally:
        con.close()


def connect_build(build: Path) -> duckdb.DuckDBPyConnection:
    """The build copy, opened for loading without an fsync at each commit (DuckDB's fsync_mode 'none'):
    publish() fsyncs the whole build file before it replaces the published one, and a build that is never
    published (the machine stopped) is removed by the next prepare_build, so the ingest's per-file commits
    (about 180 fsyncs in a cold national ingest) need not each wait for the disk. Commits still go to the
    file (a killed process loses nothing committed)."""
    con = connect_warehouse(build)
    con.execute("set fsync_mode = 'none'")
    return con


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


def _unit_test_key(plan: RefreshPlan, build: Path, summary: RunSummary) -> str:
    """What dbt's unit tests' outcome depends on (dbt_runner.UnitTestRecord), read after the build: the
    dbt project, the pipeline code (the plan's fingerprint), the settings dbt reads (the env_var()s the
    project names) and the engine versions, and the columns and types of the relations the unit tests
    are typed by (the tested models and those they read, as `summary`'s build left them in `build`).
    Never the rows, nor a raw column no tested model's input is made of: a cold refresh and the
    incremental refresh after it agree."""
    relations = set(summary.unit_test_relations())
    con = connect_warehouse(build, read_only=True)
    try:
        columns = [row for row in con.execute("""select table_schema, table_name, column_name, data_type
            from information_schema.columns order by table_schema, table_name, ordinal_position""").fetchall()
                   if (row[0], row[1]) in relations]
    finally:
        con.close()
    found = plan.fingerprint
    return hashlib.sha256(json.dumps([found.dbt, found.code, dbt_settings(), engine_versions(),
                                      columns]).encode()).hexdigest()


def _record_in_warehouse(build: Path, summary: RefreshSummary, plan: RefreshPlan | None = None,
                         manifest: str | None = None) -> None:
    """The run in meta.refresh_runs and, with a plan, its state: the manifest of this run's dbt build
    (read while dbt's target folder was the build's), else the one in dbt's target folder."""
    con = connect_warehouse(build)
    try:
        if plan is not None:
            record_state(con, plan, summary.run_id, manifest or config.dbt_target_dir() / "manifest.json")
        con.execute("create schema if not exists meta")
        con.execute("""create table if not exists meta.refresh_runs (run_id varchar, started_at timestamp,
            seconds double, loaded integer, skipped integer, quarantined integer, summary json)""")
        con.execute("alter table meta.refresh_runs add column if not exists started_by varchar")
        con.execute("""insert into meta.refresh_runs by name select ? as run_id, ? as started_at, ? as seconds,
            ? as loaded, ? as skipped, ? as quarantined, ? as summary, ? as started_by""", [
            summary.run_id, summary.started_at, summary.seconds, len(summary.loaded), len(summary.skipped),
            len(summary.quarantined), json.dumps(asdict(summary)), summary.started_by,
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
