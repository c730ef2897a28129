"""Shared fixtures: the real DfE files in ../shared/data and warehouses built from them.

Building a warehouse (ingest + dbt build) is the slowest thing the suite does, so each kind is built
once per test run here and shared: `real_warehouse` (the DfE files ingested), `real_built` (that,
built with dbt) and `published_demo` (the demo data, seed 20241 as `make demo`, published by a cold
refresh, which ran every unit test; the refresh tests copy it with `site`, and the unit-test record test
goes on from that refresh's record). `demo_built` is that same build as the refresh's dbt stage left it:
the published warehouse with its person-level tables back from the restricted file, and the dbt stage's
RunSummary (one demo build serves both: a second one cost about 50 CPU s). Under pytest-xdist the first
worker to ask builds it and the others copy it (built_once_per_run). Tests that change a warehouse copy
it first.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

import pytest

# `make test` runs the suite in pytest-xdist workers (-n 2): each worker gets its own dbt target folder
# (partial parse, manifest, run results, the runner's warehouse link and lock; config.dbt_target_dir),
# so two workers build at once instead of waiting for each other. Set before anything reads it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = f"target/worker-{os.environ['PYTEST_XDIST_WORKER']}"
    # A worker's __main__ (execnet's) has no __file__: pyspark, when `make install-spark` has put it in the
    # venv, takes such a process for its own doctest run and exits it as Great Expectations imports it.
    _main = sys.modules["__main__"]
    if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
        _main.__file__ = "<pytest-xdist worker>"

from pipelines.dbt_runner import RunSummary, dbt_build  # noqa: E402 - after DBT_TARGET_PATH
from pipelines.ingest.loader import connect_warehouse, ingest_paths  # noqa: E402
from pipelines.restricted import restore_restricted, restricted_path  # noqa: E402

# The tests build warehouses from the demo data, whose local extracts and targets are Stockport's: the
# LA is stated as `make demo` states it (the project has no built-in default; tests of that unset it).
os.environ.setdefault("SEND_SCORECARD_LA", "E08000007")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_collection_modifyitems(config, items) -> None:
    """The order in which `make test` (pytest -n 2 --dist loadfile --no-loadscope-reorder) hands whole
    modules to its two workers: longest work first, so that the run ends on short modules rather than on
    one worker finishing a long one alone. The modules marked run_first first, one to each worker:
    test_kpi_models_real (it builds the real-data warehouses) and test_refresh_reliability (the longest, all
    whole refreshes; it builds the published demo, which every demo module waits for, so the other worker's
    first module must not be one of those). Then the modules with slow tests, then those with a module-scoped
    fixture, then the rest, each in collection order. A module runs on one worker (loadfile), so its
    module fixtures are built once. Only in pytest-xdist's workers (a run without -n keeps its order)."""
    if not hasattr(config, "workerinput"):
        return

    def rank(item) -> int:
        if item.get_closest_marker("run_first"):
            return 0
        if item.get_closest_marker("slow"):
            return 1
        return 2 if any(defs[-1].scope == "module" for defs in item._fixtureinfo.name2fixturedefs.values()) else 3

    modules: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        modules[module] = min(modules.get(module, 3), rank(item))
    order = {item.nodeid: (modules[item.nodeid.split("::", 1)[0]], index) for index, item in enumerate(items)}
    items.sort(key=lambda item: order[item.nodeid])


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need_real_data() -> Path:
    """The real data folder, or skip the test with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the published DfE files are not at {SHARED_DATA} (they sit beside the project in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_data() -> Path:
    return need_real_data()


Built = TypeVar("Built")


def built_once_per_run(tmp_path_factory, name: str, build: Callable[[Path], Built]) -> tuple[Path, Built]:
    """A warehouse `build(path)` makes (and what it returns), made once per test run: under pytest-xdist
    the first worker to ask builds it in the run's shared folder under a lock, and every worker (the
    builder too) gets its own copy, so no test sees another worker's changes. Without xdist it is built
    in place. A build that fails is not kept: the next worker to ask builds it again (and fails alike)."""
    own = tmp_path_factory.mktemp(name) / "send.duckdb"
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return own, build(own)
    shared = tmp_path_factory.getbasetemp().parent / f"built-once-{name}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or with the worker
        done = shared / "built.pickle"
        if not done.exists():
            result = build(shared / "send.duckdb")
            done.write_bytes(pickle.dumps(result))
        result = pickle.loads(done.read_bytes())
    shutil.copyfile(shared / "send.duckdb", own)
    restricted = restricted_path(shared / "send.duckdb")  # a published warehouse's person-level tables
    if restricted.exists():
        restricted_path(own).parent.mkdir(mode=0o700)
        shutil.copyfile(restricted, restricted_path(own))
    return own, result


def _ingest_real(path: Path, real_data: Path) -> None:
    con = connect_warehouse(path)
    try:
        results = ingest_paths(con, [real_data])
    finally:
        con.close()
    # "unknown": the release zip's supporting files, listed as not a known source
    failed = [r.message for r in results if r.status not in ("loaded", "skipped", "unknown")]
    assert not failed, failed


@pytest.fixture(scope="session")
def real_warehouse(tmp_path_factory, real_data) -> Path:
    """A warehouse with every national file of ../shared/data loaded (built once per test run)."""
    return built_once_per_run(tmp_path_factory, "real", lambda path: _ingest_real(path, real_data))[0]


@pytest.fixture(scope="session")
def real_built(real_warehouse, tmp_path_factory) -> tuple[Path, RunSummary]:
    """real_warehouse copied and built with dbt (default vars: latest period, all LAs), once per run."""

    def build(path: Path) -> RunSummary:
        shutil.copyfile(real_warehouse, path)
        return dbt_build(path)

    return built_once_per_run(tmp_path_factory, "real_built", build)


# What this worker made once for the session, for the fixtures below and for modules that ask by function.
_ONCE: dict[str, object] = {}


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory) -> tuple[Path, RunSummary]:
    """The demo data (seed 20241, local extracts included) loaded into a warehouse and built with dbt, once
    per run: the published demo's cold refresh as its dbt stage left it (`build_demo`)."""
    return build_demo(tmp_path_factory)


def build_demo(tmp_path_factory) -> tuple[Path, RunSummary]:
    """demo_built, for modules that ask for it by function: (warehouse, the dbt stage's RunSummary).

    The warehouse is this worker's copy of the published demo with the person-level tables publish moved
    to the restricted file put back, as a refresh's build gets them back (restore_restricted): what the
    cold refresh's ingest and dbt build made, plus the run's record (meta.refresh_runs, refresh_state)."""
    if "demo" not in _ONCE:
        demo = published_demo_once(tmp_path_factory)
        warehouse = tmp_path_factory.mktemp("demo_built") / "send.duckdb"
        shutil.copyfile(demo.published, warehouse)
        restore_restricted(warehouse, demo.published)
        _ONCE["demo"] = (warehouse, demo.cold.summary)
    return _ONCE["demo"]


class ColdRefresh(NamedTuple):
    """What the published demo's cold refresh ran (no record of the unit tests passing on this install),
    and the record of the unit tests passing it left (dbt_runner.UnitTestRecord's file), for
    tests/test_refresh_doors.py's unit-test record test to go on from."""

    dbt: str  # its dbt sentence, as in the run record
    unit_tests: set[str]  # every unit test of the project
    ran: set[str]  # the unit tests that ran and passed
    built: set[str]  # the models it built
    record: Path
    summary: RunSummary  # its dbt stage's: the build (models, seeds, data tests) and then every unit test


class PublishedDemo(NamedTuple):
    """conftest's published demo: its drop-zone, the warehouse the cold refresh published, and that refresh."""

    raw: Path
    published: Path
    cold: ColdRefresh


@pytest.fixture(scope="session")
def published_demo(tmp_path_factory) -> PublishedDemo:
    return published_demo_once(tmp_path_factory)


def published_demo_once(tmp_path_factory) -> PublishedDemo:
    """A drop-zone with the demo data (seed 20241, local extracts included) and a warehouse published from it
    by one cold refresh, once per run: (drop-zone, published warehouse, what the refresh ran). Tests change
    only their copy (`site`). The refresh runs every unit test (this install's record of them passing is
    set aside meanwhile) and its record is added to each worker's, as on the install that published it."""
    from demo.generate import generate_demo
    from demo.local import DEMO_PSEUDONYM_KEY
    from pipelines.config import dbt_target_dir
    from pipelines.dbt_runner import UnitTestRecord
    from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV
    from pipelines.refresh import refresh_session

    def build(published: Path) -> tuple[Path, ColdRefresh]:
        raw = published.parent / "raw"
        shutil.rmtree(raw, ignore_errors=True)
        generate_demo(raw, seed=20241)
        record = dbt_target_dir() / UnitTestRecord.FILE
        kept = record.read_bytes() if record.exists() else None
        record.unlink(missing_ok=True)
        try:  # run_refresh(raw, published, write_reports=None)'s stages, keeping what dbt ran
            with refresh_session(raw, published, started_by="cli", write_reports=None) as run:
                assert not run.check_unchanged()
                run.warm_dbt()
                run.ingest()
                summary = run.dbt()
                run.publish()
                run.reports()
            cold = published.parent / UnitTestRecord.FILE
            shutil.copyfile(record, cold)
        finally:
            if kept is not None:
                _add_unit_test_passes(record, kept)
        return raw, ColdRefresh(
            dbt=run.summary.dbt, unit_tests=set(json.loads(summary.manifest)["unit_tests"]),
            ran={r.unique_id for r in summary.results if r.resource_type == "unit_test" and r.status == "pass"},
            built={r.name for r in summary.results if r.resource_type == "model"}, record=cold, summary=summary)

    if "published_demo" in _ONCE:
        return _ONCE["published_demo"]
    published, (raw, cold) = built_once_per_run(tmp_path_factory, "published_demo", build)
    # the key the demo's local extracts were loaded with (generate_demo sets it in the worker that built them):
    # the refreshes of a copy load with it in every worker, as they would after `make demo`
    os.environ.setdefault(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)
    _add_unit_test_passes(dbt_target_dir() / UnitTestRecord.FILE, cold.record.read_bytes())
    _ONCE["published_demo"] = PublishedDemo(raw, published, cold)
    return _ONCE["published_demo"]


def _add_unit_test_passes(record: Path, passes: bytes) -> None:
    """The passes of another record of dbt's unit tests (dbt_runner.UnitTestRecord's file) added to
    `record`'s: one per key, the newest first, as many as it keeps."""
    from pipelines.dbt_runner import UnitTestRecord

    def read(data: bytes) -> list[dict]:
        try:
            return [p for p in json.loads(data)["passes"] if isinstance(p, dict)]
        except (ValueError, KeyError, TypeError):
            return []

    newest: dict[str, dict] = {}
    for entry in sorted([*read(passes), *(read(record.read_bytes()) if record.exists() else [])],
                        key=lambda p: str(p.get("passed_at")), reverse=True):
        newest.setdefault(str(entry.get("key")), entry)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"passes": list(newest.values())[:UnitTestRecord.KEPT]}, indent=1))


@pytest.fixture
def site(published_demo, tmp_path) -> tuple[Path, Path]:
    """A private copy of the published demo state for one test: (drop-zone, published warehouse)."""
    raw, published, _ = published_demo
    shutil.copytree(raw, tmp_path / "raw")
    (tmp_path / "warehouse").mkdir()
    shutil.copy(published, tmp_path / "warehouse" / "send.duckdb")
    return tmp_path / "raw", tmp_path / "warehouse" / "send.duckdb"
