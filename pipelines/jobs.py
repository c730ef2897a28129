"""The main job as plain functions, shared by the CLI and the Dagster definitions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from pipelines import config
from pipelines.config import DBT_PROJECT_DIR


def dbt_models_exist() -> bool:
    return any((DBT_PROJECT_DIR / "models").rglob("*.sql"))


def write_outputs(published: Path, la: str | None = None) -> list[Path]:
    """The reports the refresh leaves for people: the scorecard of the configured LA (HTML and
    Excel, plus the publication variant) and the data-quality report."""
    from pipelines.quality.report import write_report
    from pipelines.reports.scorecard import write_reports

    la = la or config.scorecard_la()
    return [
        *write_reports(published, la),
        *write_reports(published, la, publication=True),
        write_report(published),
    ]


def run_main_job(raw_dir: Path, warehouse: Path, *, console: Console, ingest: Callable,
                 generate_demo_seed: int | None = None):
    """Optionally write the demo data, then the refresh: load, build, test, publish, report."""
    from pipelines.refresh import run_refresh

    if generate_demo_seed is not None:
        from pipelines.demo.generate import generate_demo

        console.print(f"Writing demo data to {raw_dir} (seed {generate_demo_seed})")
        generate_demo(raw_dir, seed=generate_demo_seed)
    return run_refresh(raw_dir, warehouse, ingest=ingest, write_reports=write_outputs,
                       on_stage=lambda stage: console.print(f"[bold]{stage}[/] ..."))
