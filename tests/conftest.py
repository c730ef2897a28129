"""Shared fixtures: the real DfE files in ../shared/data and warehouses built from them.

Building a warehouse (ingest + dbt build) is the slowest thing the suite does, so each kind is built
once per test run here and shared: `real_warehouse` (the DfE files ingested), `real_built` (that,
built with dbt) and `demo_built` (the demo data, seed 20241, ingested and built). Tests that change
a warehouse copy it first.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

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

# The tests build warehouses from the demo data, whose local extracts and targets are Stockport's: the
# LA is stated as `make demo` states it (the project has no built-in default; tests of that unset it).
os.environ.setdefault("SEND_SCORECARD_LA", "E08000007")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need_real_data() -> Path:
    """The real data folder, or skip the test with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the published DfE files are not at {SHARED_DATA} (they sit beside the project in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_data() -> Path:
    return need_real_data()


@pytest.fixture(scope="session")
def real_warehouse(tmp_path_factory, real_data) -> Path:
    """A warehouse with every national file of ../shared/data loaded (built once per test run)."""
    path = tmp_path_factory.mktemp("real") / "send.duckdb"
    con = connect_warehouse(path)
    try:
        results = ingest_paths(con, [real_data])
    finally:
        con.close()
    # "unknown": the release zip's supporting files, listed as not a known source
    failed = [r.message for r in results if r.status not in ("loaded", "skipped", "unknown")]
    assert not failed, failed
    return path


@pytest.fixture(scope="session")
def real_built(real_warehouse, tmp_path_factory) -> tuple[Path, RunSummary]:
    """real_warehouse copied and built with dbt (default vars: latest period, all LAs), once per run."""
    warehouse = tmp_path_factory.mktemp("real_built") / "send.duckdb"
    shutil.copyfile(real_warehouse, warehouse)
    return warehouse, dbt_build(warehouse)


_DEMO_BUILT: dict[str, tuple[Path, RunSummary]] = {}


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory) -> tuple[Path, RunSummary]:
    """The demo data (seed 20241, local extracts included) loaded into a fresh warehouse and built with
    dbt, once per run."""
    return build_demo(tmp_path_factory)


def build_demo(tmp_path_factory) -> tuple[Path, RunSummary]:
    """demo_built for modules that ask for it by function (built once per run either way)."""
    if "demo" not in _DEMO_BUILT:
        _DEMO_BUILT["demo"] = _build_demo(tmp_path_factory)
    return _DEMO_BUILT["demo"]


def _build_demo(tmp_path_factory) -> tuple[Path, RunSummary]:
    from demo.generate import generate_demo

    root = tmp_path_factory.mktemp("demo_built")
    generate_demo(root / "raw", seed=20241)
    warehouse = root / "send.duckdb"
    con = connect_warehouse(warehouse)
    try:
        results = ingest_paths(con, [root / "raw"])
    finally:
        con.close()
    failed = [r.message for r in results if r.status == "failed"]
    assert not failed, failed
    return warehouse, dbt_build(warehouse)
