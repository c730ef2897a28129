"""Run the dbt project (dbt_project/) from Python, the same way from the CLI, Dagster and tests.

dbt's programmatic runner is used (no subprocess), with the project and profiles directories set
explicitly, so it works whatever the current directory is. The warehouse path reaches dbt through
SEND_WAREHOUSE (profiles.yml reads it), made absolute first: dbt would otherwise resolve a relative
path against its own working directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR, dbt_target_dir
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
    # a failed data test's own words: the `problem` column of its failing rows (model_checks: one per
    # broken check), e.g. "period_key is null on 3 row(s)"; empty when the test returns no such column
    problems: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    """What a dbt invocation did: every node's result, the time taken and whether it succeeded."""

    command: str
    success: bool
    seconds: float
    results: list[NodeResult] = field(default_factory=list)
    manifest: str | None = field(default=None, repr=False)  # the manifest.json this invocation wrote
    unit_tests_skipped: int = 0  # unit tests left out as unchanged since they passed (see UnitTestRecord)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in FAILED_STATUSES]

    @cached_property
    def _manifest_data(self) -> dict:
        """The manifest this invocation wrote, parsed once (empty when there is none)."""
        try:
            found = json.loads(self.manifest or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    @property
    def unit_tests(self) -> dict[str, dict]:
        """The project's unit tests in the manifest this invocation wrote ({unique id: node})."""
        found = self._manifest_data.get("unit_tests", {})
        return found if isinstance(found, dict) else {}

    def unit_test_relations(self) -> list[tuple[str, str]]:
        """(schema, name) of every relation the project's unit tests are typed by: each tested model's
        own and those it reads (dbt types a unit test's input rows from the columns of the relation
        they stand for, and its expected rows from the model's SQL over them)."""
        manifest = self._manifest_data
        nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
        wanted: set[str] = set()
        for test in self.unit_tests.values():
            for model in (test.get("depends_on") or {}).get("nodes") or []:
                wanted.add(model)
                wanted.update((nodes.get(model, {}).get("depends_on") or {}).get("nodes") or [])
        found = set()
        for unique_id in wanted:
            node = nodes.get(unique_id)
            if node:
                found.add((node["schema"], node.get("identifier") or node.get("alias") or node["name"]))
        return sorted(found)

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
        if self.unit_tests_skipped:
            parts.append(f"{self.unit_tests_skipped} unit tests skipped as unchanged since they passed")
        text = f"dbt {self.command} {'passed' if self.success else 'failed'}: {', '.join(parts) or 'nothing to do'}"
        text += f" in {self.seconds:.0f} s"
        if self.warned:
            text += f" ({len(self.warned)} warning(s): {', '.join(_describe(r) for r in self.warned)})"
        return text


def _describe(result: NodeResult) -> str:
    kind = {"model": "model", "seed": "seed", "test": "test", "unit_test": "unit test"}.get(
        result.resource_type, result.resource_type)
    detail = f"{result.failures} failing row(s)" if result.failures else (result.message or result.status)
    if result.problems:
        detail = "; ".join(result.problems[:PROBLEMS_SHOWN])
        if result.failures and result.failures > PROBLEMS_SHOWN:
            detail += f" and {result.failures - PROBLEMS_SHOWN} more"
    detail = " ".join(detail.split())
    if len(detail) > 300:
        detail = detail[:297] + "..."
    return f"{kind} {result.name} ({detail})"


PROBLEMS_SHOWN = 5


def _problems(warehouse: Path, compiled: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    """The `problem` sentences of failed data tests' rows, by test id, each after the model the test
    is on ("dim_la: la_name is null on 2 row(s)"). `compiled` maps a test id to that model and the
    test's compiled SQL, which is run again here, only after a failure. A test without that column, or
    one that cannot be read back, keeps dbt's count. The sentences name columns and counts, never a cell."""
    import duckdb

    found: dict[str, list[str]] = {}
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return found
    try:
        for unique_id, (model, sql) in compiled.items():
            try:
                cursor = con.execute(f"select * from ({sql}) as failing limit {PROBLEMS_SHOWN}")
                columns = [d[0] for d in cursor.description]
                if "problem" in columns:
                    found[unique_id] = [f"{model}: {row[columns.index('problem')]}" for row in cursor.fetchall()]
            except duckdb.Error:
                continue
    finally:
        con.close()
    return found


# dbt keeps its parsed project (target/partial_parse.msgpack) only while the profile stays the same,
# and the profile holds the warehouse's path: every build into another file (each refresh's build copy,
# each test's warehouse) used to reparse the whole project (seconds). dbt is therefore always shown
# the warehouse at one path of its target folder: a symbolic link to a hard link of the file named
# warehouse.duckdb beside it (DuckDB names the database after the file the link resolves to, dbt
# after the path, so both say `warehouse`).
FIXED_NAME = "warehouse.duckdb"


def fixed_path() -> Path:
    """The path dbt's profile always reads the warehouse from (see _at_fixed_path)."""
    return dbt_target_dir() / "warehouse" / FIXED_NAME


def link_folder(warehouse: Path) -> Path:
    """The folder beside `warehouse` that holds its hard link while dbt runs on it (_at_fixed_path)."""
    return warehouse.with_name(f".{warehouse.name}.dbt")


@contextmanager
def _target_locked() -> Iterator[None]:
    """One dbt invocation at a time per target folder (its link, parse, manifest and run results),
    across threads and processes; released when the block ends, or with the process."""
    folder = fixed_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _settle_wal(alias: Path, warehouse: Path) -> None:
    """A write-ahead log DuckDB left beside the alias (a killed run) goes beside the file itself, where
    opening the file replays it, unless the file has one of its own already (then it is stale)."""
    wal = alias.with_name(alias.name + ".wal")
    if wal.exists():
        own = warehouse.with_name(warehouse.name + ".wal")
        if own.exists():
            wal.unlink(missing_ok=True)
        else:
            os.replace(wal, own)


@contextmanager
def _at_fixed_path(warehouse: Path) -> Iterator[Path]:
    """`warehouse` reachable at fixed_path() for the duration of the block (under _target_locked).
    The file is neither moved nor copied: the hard link shares its data, and the links are removed
    after, even on failure. Where hard links cannot be made (another file system) dbt gets the file's
    own path and parses the project in full."""
    link = fixed_path()
    folder = link_folder(warehouse)
    alias = folder / FIXED_NAME
    try:
        folder.mkdir(exist_ok=True)
        _settle_wal(alias, warehouse)
        alias.unlink(missing_ok=True)
        os.link(warehouse, alias)
        link.unlink(missing_ok=True)
        os.symlink(alias, link)
    except OSError:
        link.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        yield warehouse
        return
    try:
        yield link
    finally:
        link.unlink(missing_ok=True)
        _settle_wal(alias, warehouse)
        shutil.rmtree(folder, ignore_errors=True)


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
            manifest: object | None = None) -> RunSummary:
    """One dbt command; `manifest` (a dbt Manifest parsed ahead, see WarmDbt) spares dbt its parse."""
    from dbt.cli.main import dbtRunner

    project = str(DBT_PROJECT_DIR)
    started = time.monotonic()
    resolved = Path(warehouse).expanduser().resolve() if warehouse is not None else None
    with contextlib.ExitStack() as stack:
        stack.enter_context(_target_locked())
        if target in (None, "duckdb") and command == "parse":
            resolved = fixed_path()  # parsing opens no database: the builds' path keeps their parse
        elif target in (None, "duckdb") and resolved is not None and resolved.exists():
            resolved = stack.enter_context(_at_fixed_path(resolved))
        stack.enter_context(_environment(resolved))
        try:
            outcome = dbtRunner(manifest=manifest).invoke([
                command, "--project-dir", project, "--profiles-dir", project, "--log-format", "text", "--quiet",
                *(["--target", target] if target else []), *args,
            ])
        finally:
            _release_warehouse()
        # read while the target folder is still this invocation's
        manifest = dbt_target_dir() / "manifest.json"
        manifest_text = manifest.read_text() if command in ("build", "parse") and manifest.exists() else None
        failed_tests = {r.node.unique_id: ((getattr(r.node, "attached_node", None) or "").split(".")[-1] or "the model",
                                           r.node.compiled_code) for r in getattr(outcome.result, "results", None) or []
                        if getattr(r, "node", None) is not None and str(r.node.resource_type) == "test"
                        and str(r.status).lower() in FAILED_STATUSES and getattr(r.node, "compiled_code", None)}
        problems = (_problems(resolved, failed_tests) if failed_tests and target in (None, "duckdb")
                    and resolved is not None and resolved.exists() else {})
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
            problems=problems.get(node.unique_id, []),
        ))
    summary = RunSummary(command=command, success=bool(outcome.success), seconds=seconds, results=results,
                         manifest=manifest_text)
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
              state: Path | None = None, unit_tests: bool = True) -> RunSummary:
    """Build the dbt project against the warehouse file: seeds, models, data tests and unit tests.

    `select` is a dbt selection (e.g. "marts" or "+fct_scorecard"); `vars` are dbt vars such as
    {"reporting_period": "2025-03-31", "scorecard_la": "E08000007"}. `target` is a profiles.yml output
    (default duckdb; "spark" builds on Spark, where `warehouse` is not used: see pipelines/spark.py).
    `state` is a folder with the manifest.json to compare with for `state:` selectors (dbt sees every
    warehouse at one path, so builds into different files reuse dbt's parse and compare equal under
    `state:`). `unit_tests=False` leaves the unit tests out (the refresh, when they are unchanged since
    they passed: UnitTestRecord).
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
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return _invoke("build", args, Path(warehouse) if warehouse else None, target)


def dbt_unit_tests(warehouse: Path, names: list[str]) -> RunSummary:
    """dbt test of the named unit tests alone (`dbt build` runs a unit test only with its model), on
    the relations already in the warehouse; raises DbtBuildError naming any that failed. It writes no
    run_results.json or manifest.json, so the target folder keeps those of the build it follows."""
    return _invoke("test", ["--no-write-json", "--select",
                            " ".join(f"unit_test:{name}" for name in sorted(set(names)))], Path(warehouse))


def dbt_run_operation(macro: str, args: dict, target: str | None = None) -> RunSummary:
    """Run a macro of the project (dbt run-operation), e.g. register_parquet_tables on Spark."""
    return _invoke("run-operation", [macro, "--args", json.dumps(args)], None, target)


def dbt_parse(warehouse: Path | None = None) -> Path:
    """Write dbt_project/target/manifest.json (what dagster-dbt loads at import time); returns its path.

    Parsing does not open the warehouse: it is parsed with the path every build shows dbt
    (fixed_path()), so the builds after it reuse the parse; `warehouse` is accepted and not needed.
    """
    _invoke("parse", [], Path(warehouse) if warehouse else None)
    manifest = dbt_target_dir() / "manifest.json"
    if not manifest.exists():
        raise DbtBuildError(f"dbt parse did not write {manifest}.")
    return manifest


# --- unit tests: code checks, run when the code they check changed --------------------------------------
# A unit test checks a model's SQL on fixed input rows: its outcome depends on the project (the model,
# its macros, the fixtures), dbt and DuckDB, the settings dbt reads, and the column types of the
# relations it mocks and of its model (RunSummary.unit_test_relations; they come from the raw tables'
# types through the project's SQL), never on the data. dbt's docs recommend running them in development
# and CI, not in every production build (docs.getdbt.com/docs/build/unit-tests, "When to run unit
# tests"). The refresh therefore builds without them, then runs them all when any of that changed since
# they last all passed on this install, and otherwise leaves them out and says so. Tests and `make test`
# build with dbt_build, which runs every unit test.


class UnitTestRecord:
    """`<dbt target folder>/unit_tests_passed.json`: the keys (digests of what a unit test's outcome
    depends on, made by the caller) with which every unit test of the project passed here, the latest
    KEPT of them (an install that refreshes both with and without local extracts has two)."""

    FILE = "unit_tests_passed.json"
    KEPT = 8

    def __init__(self, key: str):
        self.key = key
        self.path = dbt_target_dir() / self.FILE

    def _passes(self) -> list[dict]:
        try:
            recorded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        passes = recorded.get("passes") if isinstance(recorded, dict) else None
        return [p for p in passes if isinstance(p, dict)] if isinstance(passes, list) else []

    def passed_at(self) -> str | None:
        """When every unit test last passed with this key (UTC, ISO), or None (then they must run)."""
        return next((p.get("passed_at") for p in self._passes() if p.get("key") == self.key), None)

    @staticmethod
    def not_run(summary: RunSummary) -> list[str]:
        """The names of the project's unit tests that did not run in `summary` (a selective build runs
        only those of the models it builds)."""
        ran = {r.unique_id for r in summary.results if r.resource_type == "unit_test"}
        return sorted(test["name"] for unique_id, test in summary.unit_tests.items() if unique_id not in ran)

    def update(self, summary: RunSummary) -> bool:
        """Record the key when every unit test of the project ran in `summary` and passed (True); a
        failed or partial run records nothing and forgets the key."""
        every = set(summary.unit_tests)
        passed = {r.unique_id for r in summary.results if r.resource_type == "unit_test" and r.status == "pass"}
        passes = [p for p in self._passes() if p.get("key") != self.key]
        recorded = bool(summary.success and every and every <= passed)
        if recorded:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            passes.insert(0, {"key": self.key, "passed_at": when, "unit_tests": len(every)})
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:  # a record that cannot be written only means the unit tests run next time
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"passes": passes[:self.KEPT]}, indent=1))
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)
        return recorded


# --- dbt started ahead: its start-up beside the ingest ---------------------------------------------------
# A dbt build spends seconds before its first node: importing dbt, reading the project and profile,
# and loading its saved parse. Python runs one thread at a time, so only another process can do this
# while the ingest works; the refresh starts one (WarmDbt) as soon as it knows dbt will run, and the
# build itself is the same dbtRunner build with the parse handed over (dbt's documented reuse of a
# parsed manifest), on the same fixed path, under the same lock.


def _warm_manifest() -> object | None:
    """The project parsed as a build parses it (the fixed warehouse path, so dbt's saved parse is
    reused and kept), without writing manifest.json (the build writes it); None if the parse failed
    (the build then parses itself and reports the error)."""
    from dbt.cli.main import dbtRunner

    with _target_locked(), _environment(fixed_path()):
        outcome = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                                      str(DBT_PROJECT_DIR), "--log-format", "text", "--quiet", "--no-write-json"])
    return outcome.result if outcome.success and outcome.exception is None else None


def _serve(result_fd: int) -> None:
    """The warm process (python -m pipelines.dbt_runner FD): parse, then wait on stdin for one pickled
    ("build", args, warehouse); write ("ok", RunSummary) or ("error", DbtBuildError) to FD. End of
    input before a command (the refresh needed no dbt, or ended) ends the process."""
    manifest = _warm_manifest()
    try:
        command, args, warehouse = pickle.load(sys.stdin.buffer)
    except EOFError:
        return
    if command != "build":
        raise SystemExit(f"unknown command {command!r}")
    try:
        outcome: tuple[str, object] = ("ok", _invoke("build", args, Path(warehouse), manifest=manifest))
    except DbtBuildError as exc:
        exc.__cause__ = None  # dbt's own exception may not pickle; the message names it
        outcome = ("error", exc)
    with os.fdopen(result_fd, "wb") as out:
        pickle.dump(outcome, out)


class WarmDbt:
    """A dbt process started ahead of the dbt stage (see _serve): `build` runs the build there, or here
    if that process failed; `close` ends it unused. Its peak memory is its own (about 300 MB), which
    is why the refresh starts one only beside an incremental ingest, not a cold one."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "pipelines.dbt_runner", str(write_fd)],
                stdin=subprocess.PIPE, pass_fds=(write_fd,))
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._results = os.fdopen(read_fd, "rb")

    def build(self, warehouse: Path, select: str | None = None, state: Path | None = None,
              meanwhile: Callable[[], object] | None = None, unit_tests: bool = True) -> RunSummary:
        """dbt_build(warehouse, select=select, state=state, unit_tests=unit_tests), in the warm process;
        `meanwhile` (optional) runs here while it builds (a failure of it is left for its own stage to meet)."""
        args = [*(["--select", select] if select else []), *(["--state", str(state)] if state is not None else []),
                *([] if unit_tests else ["--exclude-resource-type", "unit_test"])]
        try:
            try:
                assert self._process is not None and self._process.stdin is not None
                pickle.dump(("build", args, str(Path(warehouse).expanduser().resolve())), self._process.stdin)
                self._process.stdin.close()
                if meanwhile is not None:
                    with contextlib.suppress(Exception):
                        meanwhile()
                kind, value = pickle.load(self._results)
            except (EOFError, OSError, pickle.UnpicklingError, AssertionError):
                kind, value = "lost", None  # the process died (its lock with it): build here instead
        finally:
            self.close()
        if kind == "error":
            raise value
        if kind == "ok":
            return value
        return dbt_build(warehouse, select=select, state=state, unit_tests=unit_tests)

    def close(self) -> None:
        """End the process (if it is still waiting, end of input tells it to stop)."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            if process.stdin and not process.stdin.closed:
                process.stdin.close()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._results.close()


if __name__ == "__main__":
    # through the module's own name, so what it pickles (RunSummary, DbtBuildError) reads back as
    # pipelines.dbt_runner's, not __main__'s
    from pipelines.dbt_runner import _serve as serve

    serve(int(sys.argv[1]))
