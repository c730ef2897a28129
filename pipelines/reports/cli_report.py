"""`send-scorecard report` and `send-scorecard export`: the scorecard files and JSNA extracts.

Both read the published warehouse (SEND_WAREHOUSE) read-only, so they can run while analysts
query it and never block a refresh.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from pipelines import config
from pipelines.console import friendly_errors
from pipelines.errors import SendScorecardError
from pipelines.reports.export import FORMATS, GEOGRAPHIES

console = Console(stderr=True)


def _split(values: tuple[str, ...]) -> list[str]:
    """Repeated options, each possibly a comma list: ('S5', 'S4,S3') -> ['S5', 'S4', 'S3']."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.command()
@click.option("--la", "la", required=True, metavar="CODE_OR_NAME",
              help="The LA: its code (E08000007), 3-digit LA number (356) or name in any case (stockport).")
@click.option("--period", default=None, metavar="PERIOD",
              help="'latest' (the default), a reporting date held in fct_scorecard (2025-12-31), or a date or "
                   "month of the monthly archive (2026-11-30, 2026-11): regenerates that month's board report "
                   "from reports/archive/.")
@click.option("--publication", is_flag=True,
              help="Write the publication version (-publication.html/.xlsx): counts from 1 to "
                   "SEND_SUPPRESSION_THRESHOLD (default 5), and rates built on them, are shown as c.")
@click.option("--out-dir", type=click.Path(path_type=Path), default=None,
              help="Folder to write to (default: reports/ beside the warehouse).")
@friendly_errors
def report(la: str, period: str | None, publication: bool, out_dir: Path | None) -> None:
    """Write an LA's scorecard as a self-contained HTML page and an Excel workbook.

    The page opens offline and can be e-mailed; it prints on A4 landscape with every RAG reason.
    """
    from pipelines.reports.scorecard import write_drilldown, write_reports

    started = time.monotonic()
    paths = write_reports(config.warehouse_path(), la, period, publication=publication, out_dir=out_dir)
    if not publication:  # the drill-down page the scorecard's measures link to
        paths.append(write_drilldown(config.warehouse_path(), la, period, out_dir=out_dir))
    for path in paths:
        click.echo(str(path))
    console.print(f"Wrote {len(paths)} files in {time.monotonic() - started:.1f} s.", highlight=False)


@click.command("settings-template")
@click.option("--la", "la", required=True, metavar="CODE_OR_NAME", help="The LA whose scorecard the settings are for.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="The file to write, .csv or .xlsx (default: scorecard_settings.csv in the drop-zone, SEND_RAW, "
                   "unless one is there already).")
@friendly_errors
def settings_template(la: str, output: Path | None) -> None:
    """Write the scorecard settings file: priority, theme, owner and commentary per KPI.

    Every KPI of the LA's latest scorecard gets a row for this month, with its figure and what the
    current settings file says. Fill it in and save it in the drop-zone as scorecard_settings.csv
    (or .xlsx); the next scorecard shows it, and carries each commentary into later months until a
    newer row replaces it.
    """
    from pipelines.reports.scorecard import build_report
    from pipelines.reports.settings import read_settings, settings_for, settings_path, write_template

    report = build_report(config.warehouse_path(), la)
    month = report.as_of.strftime("%Y-%m")
    current_file = settings_path(config.raw_dir())
    current = settings_for(read_settings(current_file, {r["kpi_id"] for r in report.rows}), month) \
        if current_file else {}
    target = output or config.raw_dir() / "scorecard_settings.csv"
    if output is None and target.exists():
        raise SendScorecardError(f"{target} exists already: give --output for the new template, fill it in and "
                                 "put it in its place.")
    path = write_template(target, report.rows, month, current)
    click.echo(str(path))
    console.print(f"Wrote the settings for {len(report.rows)} KPIs of {report.la.la_name}, month {month}.",
                  highlight=False)


@click.command()
@click.option("--kpi", "kpis", multiple=True, metavar="ID",
              help="A KPI id (S5); repeat or comma-separate for more. Default: every KPI.")
@click.option("--la", "las", multiple=True, metavar="CODE_OR_NAME",
              help="An LA (code, 3-digit number or name); repeat for more. Default: every LA. With LAs given, "
                   "region rows are for those LAs' regions.")
@click.option("--geography", "geographies", multiple=True, type=click.Choice(GEOGRAPHIES, case_sensitive=False),
              help="la, region and/or england; repeat for more. Default: all three.")
@click.option("--years", default=None, metavar="YEARS",
              help="2019-2024 or 2019,2020. A period counts in the year it ends (2023/24 is 2024). Default: all.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="csv, xlsx or parquet (default: from the --output extension).")
@click.option("--output", required=True, type=click.Path(path_type=Path), help="The file to write.")
@click.option("--include-small-numbers", is_flag=True,
              help="Keep counts from 1 to 5 (SEND_SUPPRESSION_THRESHOLD) and rates built on them. Only takes "
                   "effect together with --i-have-local-data-rights.")
@click.option("--i-have-local-data-rights", "local_data_rights", is_flag=True,
              help="Confirm you may see and share unsuppressed figures (e.g. you work for the LA and the "
                   "output stays inside it). Needed with --include-small-numbers.")
@click.option("--include-provisional", is_flag=True,
              help="Also export the LA's own monthly figures from local extracts (provisional, not published).")
@friendly_errors
def export(kpis: tuple[str, ...], las: tuple[str, ...], geographies: tuple[str, ...], years: str | None,
           fmt: str | None, output: Path, include_small_numbers: bool, local_data_rights: bool,
           include_provisional: bool) -> None:
    """Export tidy KPI values for a JSNA: one row per geography, KPI and period.

    Columns: geography, KPI, period, value, value_status, numerator, denominator, source, release.

    \b
    Small numbers are suppressed (value empty, value_status 'suppressed') unless
    BOTH --include-small-numbers and --i-have-local-data-rights are given: a
    published JSNA table must not disclose counts of 1 to 5, and only someone
    entitled to the local data may lift that.
    """
    from pipelines.reports.export import export_kpis, write_export
    from pipelines.reports.publication import suppression_threshold

    if include_small_numbers and not local_data_rights:
        raise SendScorecardError(
            "--include-small-numbers also needs --i-have-local-data-rights (confirming you may share "
            "unsuppressed figures); without both, counts from 1 to 5 are suppressed.")
    unsuppressed = include_small_numbers and local_data_rights
    started = time.monotonic()
    frame = export_kpis(config.warehouse_path(), _split(kpis), _split(las), [g.lower() for g in geographies],
                        years, include_small_numbers=unsuppressed, include_provisional=include_provisional)
    notes = [
        "send-scorecard export: tidy KPI values, one row per geography, KPI and period.",
        f"KPIs: {', '.join(_split(kpis)) or 'all'}; LAs: {', '.join(_split(las)) or 'all'}; "
        f"geographies: {', '.join(geographies) or ', '.join(GEOGRAPHIES)}; years: {years or 'all'} "
        "(a period counts in the year it ends).",
        "Small numbers: NOT suppressed (the user confirmed local data rights)." if unsuppressed else
        f"Small numbers: counts from 1 to {suppression_threshold()} and rates built on them are suppressed "
        "(value empty, value_status 'suppressed').",
        "value_status: ok, suppressed (c), unavailable (x), not_applicable (z), low (rounds to zero), "
        "low_reliability (u), missing.",
        "Percentages are in percentage points (7.8 means 7.8%).",
    ]
    path = write_export(frame, output, fmt, notes=notes)
    suppressed = frame.filter(frame["value_status"] == "suppressed").height
    console.print(f"Wrote {frame.height:,} rows to {path} in {time.monotonic() - started:.1f} s "
                  f"({suppressed:,} suppressed).", highlight=False)
    if frame.is_empty():
        console.print("No rows matched: check --kpi, --la, --geography and --years.", highlight=False)
