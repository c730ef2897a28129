"""The main job as plain functions, shared by the CLI and the Dagster definitions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from pipelines.config import DBT_PROJECT_DIR
from pipelines.errors import SendScorecardError


def dbt_models_exist() -> bool:
    return any((DBT_PROJECT_DIR / "models").rglob("*.sql"))


def run_main_job(raw_dir: Path, warehouse: Path, *, console: Console, ingest: Callable,
                 generate_demo_seed: int | None = None) -> None:
    """Optionally write the demo data, load every file in `raw_dir`, then build the dbt models."""
    started = time.monotonic()
    if generate_demo_seed is not None:
        from pipelines.demo.generate import generate_demo

        console.print(f"Writing demo data to {raw_dir} (seed {generate_demo_seed})")
        generate_demo(raw_dir, seed=generate_demo_seed)
    results = ingest([raw_dir], warehouse)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise SendScorecardError(f"{len(failed)} file(s) failed to load (reasons above); fix or remove them and "
                                 "run again.")
    if dbt_models_exist():
        from pipelines.dbt_runner import dbt_build

        console.print("Building the warehouse models and running their tests (dbt build)")
        dbt_build(warehouse)
    console.print(f"Done in {time.monotonic() - started:.0f} s. Warehouse: {warehouse}")
