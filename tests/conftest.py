"""Shared fixtures: the real DfE files in ../shared/data and warehouses built from them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.ingest.loader import connect_warehouse, ingest_paths

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
    failed = [r.message for r in results if r.status not in ("loaded", "skipped")]
    assert not failed, failed
    return path
