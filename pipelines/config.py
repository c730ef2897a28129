"""Settings read from the environment, the same for the CLI, Dagster and dbt.

SEND_WAREHOUSE is the published DuckDB file (default data/warehouse/send.duckdb) and SEND_RAW the
drop-zone (default data/raw); relative paths are taken from the project root and made absolute so
dbt, which runs in dbt_project/, sees the same file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

# DuckDB 2.0 files cannot be opened by DuckDB 1.4 and older unless written in the older storage
# format; the warehouse is created in the 1.4 format so analysts' DBeaver / duckdb CLI 1.4+ open it.
DUCKDB_STORAGE_VERSION = "v1.4.0"


def _path_from_env(name: str, default: str) -> Path:
    path = Path(os.environ.get(name) or default).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def dbt_target_dir() -> Path:
    """dbt's target folder: DBT_TARGET_PATH (which dbt itself reads; relative to dbt_project/), default
    dbt_project/target. It holds dbt's parse (partial_parse.msgpack), manifest.json, run_results.json
    and the dbt runner's warehouse link and lock: a folder of its own per process group (e.g. per
    pytest worker) lets several build at once without waiting for each other."""
    value = os.environ.get("DBT_TARGET_PATH")
    if not value:
        return DBT_PROJECT_DIR / "target"
    path = Path(value).expanduser()
    return path if path.is_absolute() else DBT_PROJECT_DIR / path


def warehouse_path() -> Path:
    """The published warehouse file (SEND_WAREHOUSE)."""
    return _path_from_env("SEND_WAREHOUSE", "data/warehouse/send.duckdb").resolve()


def raw_dir() -> Path:
    """The drop-zone for national and local files (SEND_RAW)."""
    return _path_from_env("SEND_RAW", "data/raw").resolve()


def demo_la() -> str:
    """The LA the demo scorecard is built for (SEND_DEMO_LA, default Stockport)."""
    return os.environ.get("SEND_DEMO_LA", "E08000007")


def scorecard_la() -> str | None:
    """The LA whose scorecard the refresh writes and whose local extracts are loaded (SEND_SCORECARD_LA:
    code, number or name). No built-in default: None when it is not set (the demo sets it for its LA)."""
    return (os.environ.get("SEND_SCORECARD_LA") or "").strip() or None


@contextmanager
def setting(name: str, value: str) -> Iterator[str]:
    """The environment variable `name` set to `value` for the duration of the block, then restored (or
    removed): how a stage points dbt's profiles.yml at its file or folder."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield value
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
