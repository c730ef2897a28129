"""The main job as plain functions, shared by the CLI and the Dagster definitions."""

from __future__ import annotations

import logging
from pathlib import Path

from pipelines import config
from pipelines.config import DBT_PROJECT_DIR

log = logging.getLogger(__name__)


def dbt_models_exist() -> bool:
    return any((DBT_PROJECT_DIR / "models").rglob("*.sql"))


def prepare_outputs() -> None:
    """What write_outputs needs before it reads anything: its modules (openpyxl, Jinja) and the compiled
    page templates. The refresh calls it while dbt builds in its own process (RefreshRun.dbt)."""
    import openpyxl.worksheet.table  # noqa: F401 - the workbooks' writer, imported ahead
    import openpyxl.writer.excel  # noqa: F401

    import pipelines.quality.report  # noqa: F401
    import pipelines.reports.marts_export  # noqa: F401
    import pipelines.reports.workbook  # noqa: F401
    from pipelines.reports.scorecard import compile_templates

    compile_templates()


def write_outputs(published: Path, la: str | None = None) -> list[Path]:
    """The reports the refresh leaves for people: the scorecard of the configured LA (HTML and
    Excel, plus the publication variant) and the data-quality report, also kept in the monthly
    archive (pipelines.reports.archive); and the marts for Power BI and Excel in exports/."""
    from pipelines.quality.report import write_report
    from pipelines.reports.marts_export import write_mart_exports
    from pipelines.reports.scorecard import archive_reports, build_reports, write_drilldown, write_reports

    la = la or config.scorecard_la()
    if not la:
        log.warning("SEND_SCORECARD_LA is not set: no scorecard was written (set it to your LA's code, number "
                    "or name; the data-quality report and the exports are written as usual)")
        return [write_report(published), *write_mart_exports(published)]
    working, publication = build_reports(published, la)  # the marts read once for all the scorecard files
    paths = [
        *write_reports(published, la, report=working),
        write_drilldown(published, la, report=working),
        *write_reports(published, la, report=publication),
        write_report(published),
    ]
    archive_reports(published, la, paths)  # the monthly archive: reports/archive/<date>/
    return paths + write_mart_exports(published)  # exports/: Parquet and Excel Tables for Power BI and Excel
