"""Run the dbt project (dbt_project/) from Python, the same way from the CLI, Dagster and tests.

dbt's programmatic runner is used (no subprocess), with the project and profiles directories set
explicitly, so it works whatever the current directory is. The warehouse path reaches dbt through
SEND_WAREHOUSE (profiles.yml reads it), made absolute first: dbt would otherwise resolve a relative
path against its own working directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR
from pipelines.errors import SendScorecardError

# statuses of a node that did not go as planned (run results use "error", tests "fail")
FAILED_STATUSES = {"error", "fail", "runtime error"}
WARNED_STATUSES = {"warn"}


class DbtBuildError(SendScorecardError):
    """dbt failed: a model did not build or a test failed. The message names them."""

    def __init__(self, message: str, summary: RunSummary | None = None):
        super().__init__(message)
        self.summary = summary


@dataclass
class NodeResult:
    """One model, seed, snapshot, data test or unit test of a dbt invocation."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    seconds: float
    message: str = ""
    failures: int | None = None


@dataclass
class RunSummary:
    """What a dbt invocation did: every node's result, the time taken and whether it succeeded."""

    command: str
    success: bool
    seconds: float
    results: list[NodeResult] = field(default_factory=list)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in FAILED_STATUSES]

    @property
    def warned(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in WARNED_STATUSES]

    def count(self, resource_type: str) -> int:
        return sum(1 for r in self.results if r.resource_type == resource_type)

    def slowest(self, n: int = 5, resource_type: str = "model") -> list[NodeResult]:
        nodes = [r for r in self.results if r.resource_type == resource_type]
        return sorted(nodes, key=lambda r: r.seconds, reverse=True)[:n]

    def sentence(self) -> str:
        """'dbt build passed: 30 models, 120 data tests, 14 unit tests in 9 s (2 warnings: ...)'."""
        parts = [f"{self.count(kind)} {label}" for kind, label in
                 (("model", "models"), ("seed", "seeds"), ("test", "data tests"), ("unit_test", "unit tests"))
                 if self.count(kind)]
        text = f"dbt {self.command} {'passed' if self.success else 'failed'}: {', '.join(parts) or 'nothing to do'}"
        text += f" in {self.seconds:.0f} s"
        if self.warned:
            text += f" ({len(self.warned)} warning(s): {', '.join(_describe(r) for r in self.warned)})"
        return text


def _describe(result: NodeResult) -> str:
    kind = {"model": "model", "seed": "seed", "test": "test", "unit_test": "unit test"}.get(
        result.resource_type, result.resource_type)
    detail = f"{result.failures} failing row(s)" if result.failures else (result.message or result.status)
    detail = " ".join(detail.split())
    if len(detail) > 300:
        detail = detail[:297] + "..."
    return f"{kind} {result.name} ({detail})"


@contextmanager
def _moved(warehouse: Path, stable: Path | None) -> Iterator[Path]:
    """`warehouse` renamed to `stable` for the duration of the block, and back (even on failure).

    dbt reparses the whole project (seconds) when the profile's path changes, and compares the
    database name (the file's stem) in `state:` selection; a refresh builds into a new file each
    run, so it builds under one fixed name instead. A WAL left at the fixed name by a killed run
    belongs to another file and is removed first.
    """
    if stable is None or stable == warehouse or not warehouse.exists():
        yield warehouse
        return
    stable.with_name(stable.name + ".wal").unlink(missing_ok=True)
    os.replace(warehouse, stable)
    try:
        yield stable
    finally:
        wal = stable.with_name(stable.name + ".wal")
        if wal.exists():
            os.replace(wal, warehouse.with_name(warehouse.name + ".wal"))
        os.replace(stable, warehouse)


@contextmanager
def _environment(warehouse: Path | None) -> Iterator[None]:
    """SEND_WAREHOUSE (absolute) and no dbt telemetry, for the duration of one invocation."""
    saved = {key: os.environ.get(key) for key in ("SEND_WAREHOUSE", "DO_NOT_TRACK", "DBT_SEND_ANONYMOUS_USAGE_STATS")}
    try:
        if warehouse is not None:
            os.environ["SEND_WAREHOUSE"] = str(warehouse)
        os.environ["DO_NOT_TRACK"] = "1"
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb holds one DuckDB instance per process (keep_open); left open, the file stays locked
    for other processes and this process cannot open it read-only or replace it cleanly.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing held
        return
    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
            DuckDBConnectionManager._ENV = None


def _invoke(command: str, args: list[str], warehouse: Path | None, target: str | None = None,
            stable: Path | None = None) -> RunSummary:
    from dbt.cli.main import dbtRunner

    project = str(DBT_PROJECT_DIR)
    started = time.monotonic()
    resolved = Path(warehouse).expanduser().resolve() if warehouse is not None else None
    with contextlib.ExitStack() as stack:
        if resolved is not None:
            resolved = stack.enter_context(_moved(resolved, stable))
        stack.enter_context(_environment(resolved))
        try:
            outcome = dbtRunner().invoke([
                command, "--project-dir", project, "--profiles-dir", project, "--log-format", "text", "--quiet",
                *(["--target", target] if target else []), *args,
            ])
        finally:
            _release_warehouse()
    seconds = time.monotonic() - started
    results: list[NodeResult] = []
    for result in getattr(outcome.result, "results", None) or []:
        node = getattr(result, "node", None)
        if node is None:  # run-operation: the macro's own result, no node
            continue
        results.append(NodeResult(
            unique_id=node.unique_id, name=node.name, resource_type=str(node.resource_type),
            status=str(result.status).lower(), seconds=float(result.execution_time or 0.0),
            message=str(result.message or ""), failures=result.failures,
        ))
    summary = RunSummary(command=command, success=bool(outcome.success), seconds=seconds, results=results)
    if outcome.exception is not None:
        raise DbtBuildError(
            f"dbt {command} could not run: {' '.join(str(outcome.exception).split())}", summary
        ) from outcome.exception
    if not summary.success:
        failed = summary.failed
        if failed:
            shown = "; ".join(_describe(r) for r in failed[:10])
            more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
            raise DbtBuildError(f"dbt {command} failed: {shown}{more}.", summary)
        raise DbtBuildError(f"dbt {command} failed (see dbt_project/logs/dbt.log).", summary)
    return summary


def dbt_build(warehouse: Path | None, select: str | None = None, vars: dict | None = None,  # noqa: A002 - dbt's word
              full_refresh: bool = False, target: str | None = None, exclude: str | None = None,
              state: Path | None = None, build_as: Path | None = None) -> RunSummary:
    """Build the dbt project against the warehouse file: seeds, models, data tests and unit tests.

    `select` is a dbt selection (e.g. "marts" or "+fct_scorecard"); `vars` are dbt vars such as
    {"reporting_period": "2025-03-31", "scorecard_la": "E08000007"}. `target` is a profiles.yml output
    (default duckdb; "spark" builds on Spark, where `warehouse` is not used: see pipelines/spark.py).
    `state` is a folder with the manifest.json to compare with for `state:` selectors; `build_as` a
    fixed path (same folder) the file is renamed to while dbt runs, so successive builds into
    different files reuse dbt's partial parse and compare equal under `state:`.
    Returns what ran; raises DbtBuildError (a SendScorecardError) naming the models and tests that failed.
    """
    args: list[str] = []
    if select:
        args += ["--select", select]
    if vars:
        args += ["--vars", json.dumps(vars)]
    if exclude:
        args += ["--exclude", exclude]
    if full_refresh:
        args.append("--full-refresh")
    if state is not None:
        args += ["--state", str(state)]
    return _invoke("build", args, Path(warehouse) if warehouse else None, target,
                   Path(build_as).resolve() if build_as else None)


def dbt_run_operation(macro: str, args: dict, target: str | None = None) -> RunSummary:
    """Run a macro of the project (dbt run-operation), e.g. register_parquet_tables on Spark."""
    return _invoke("run-operation", [macro, "--args", json.dumps(args)], None, target)


def dbt_parse(warehouse: Path | None = None) -> Path:
    """Write dbt_project/target/manifest.json (what dagster-dbt loads at import time); returns its path.

    Parsing does not open the warehouse; `warehouse` only sets SEND_WAREHOUSE for it.
    """
    _invoke("parse", [], Path(warehouse) if warehouse else None)
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        raise DbtBuildError(f"dbt parse did not write {manifest}.")
    return manifest
