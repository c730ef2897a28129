"""The `send-scorecard` command: ingest, refresh, runs, status and sql for BI analysts and JSNA authors.

A mistake the user can fix prints one sentence and exits with status 1; no traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipelines import config
from pipelines.console import console, friendly_errors, out
from pipelines.errors import SendScorecardError
from pipelines.suppression import escape_formulas


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Show warnings and progress details from the readers.")
def main(verbose: bool) -> None:
    """SEND scorecard pipeline: load DfE data and local extracts into a DuckDB warehouse."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


def run_ingest(paths: list[Path], warehouse: Path) -> list:
    """Load files with a progress bar and print the summary table; returns the LoadResults."""
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    con = connect_warehouse(warehouse)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("Loading files", total=None)
            results = ingest_paths(
                con, paths,
                on_plan=lambda n: progress.update(task, total=n),
                on_file=lambda r: progress.update(task, advance=1, description=f"Loaded {r.file[-50:]}"),
            )
    finally:
        con.close()
    table = Table(title=f"Ingest into {warehouse}")
    for column in ("file", "source", "rows", "status"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for r in results:
        colour = {"loaded": "green", "skipped": "dim", "failed": "red", "quarantined": "yellow"}[r.status]
        table.add_row(Text(r.file), Text(r.source or "?"), f"{r.rows:,}", f"[{colour}]{r.status}[/]")
    out.print(table)
    for r in results:
        if r.status in ("failed", "quarantined"):
            console.print(Text(r.message, style="red"), highlight=False)
    return results


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@friendly_errors
def ingest(paths: tuple[Path, ...]) -> None:
    """Load national files (default: everything under SEND_RAW) into the warehouse."""
    results = run_ingest(list(paths) or [config.raw_dir()], config.warehouse_path())
    failed = [r for r in results if r.status in ("failed", "quarantined")]
    if not results:
        raise SendScorecardError(f"No data files found in {', '.join(map(str, paths or [config.raw_dir()]))}.")
    if failed:
        raise SendScorecardError(f"{len(failed)} of {len(results)} files could not be loaded (reasons above); "
                                 "the warehouse keeps its previous data for those sources.")


@main.command()
@friendly_errors
def status() -> None:
    """Per source: rows, periods covered, last load and file hash."""
    from pipelines.status import source_status

    rows = source_status(config.warehouse_path())
    table = Table(title=f"Sources in {config.warehouse_path()}")
    for column in ("source", "rows", "periods", "last load", "files", "sha256"):
        table.add_column(column)
    for r in rows:
        table.add_row(*(Text(str(v)) for v in (r["source"], f"{r['rows']:,}", r["periods"], r["last_load"], r["files"],
                                               r["sha256"])))
    out.print(table)


@main.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "parquet"]), default="table",
              help="table prints to the terminal; csv and parquet write --output (csv goes to stdout without it).")
@click.option("--output", type=click.Path(path_type=Path), help="File to write for --format csv|parquet.")
@friendly_errors
def sql(query: str, fmt: str, output: Path | None) -> None:
    """Run a read-only SQL QUERY against the warehouse."""
    from pipelines.query import run_query

    frame = run_query(config.warehouse_path(), query)
    if fmt == "table":
        table = Table(show_lines=False)
        for column in frame.columns:
            table.add_column(column)
        for row in frame.head(500).iter_rows():
            table.add_row(*[Text("" if v is None else str(v)) for v in row])
        out.print(table)
        if frame.height > 500:
            console.print(f"(first 500 of {frame.height:,} rows; use --format csv for all)")
    elif fmt == "csv":
        safe = escape_formulas(frame)  # nested types as JSON text; no cell can be a live formula
        if output:
            safe.write_csv(output)
            console.print(Text(f"Wrote {frame.height:,} rows to {output}"))
        else:
            sys.stdout.write(safe.write_csv())
    else:
        if not output:
            raise SendScorecardError("--format parquet needs --output FILE.")
        frame.write_parquet(output)
        console.print(f"Wrote {frame.height:,} rows to {output}")


def refresh_with_progress(started_by: str = "cli"):
    """The refresh as `send-scorecard refresh` and `make demo` run it: stage lines, the ingest table,
    the summary sentence and the report paths. Returns the RefreshSummary."""
    from pipelines.jobs import write_outputs
    from pipelines.refresh import run_refresh

    summary = run_refresh(
        config.raw_dir(), config.warehouse_path(), ingest=run_ingest, write_reports=write_outputs,
        on_stage=lambda stage: console.print(f"[bold]{stage}[/] ..."),
    )
    console.print(Text(summary.sentence()), highlight=False)
    for path in summary.reports:
        out.print(path, highlight=False)
    return summary


@main.command()
@friendly_errors
def refresh() -> None:
    """Run the full refresh (as the monthly schedule does): load, build, test, publish atomically."""
    refresh_with_progress("cli")


@main.command("targets-template")
@click.option("--output", type=click.Path(path_type=Path),
              help="File to write (default <SEND_RAW>/targets/targets.csv; refuses to overwrite).")
@click.option("--la", help="LA code, number or name to fill in (default SEND_SCORECARD_LA).")
@friendly_errors
def targets_template(output: Path | None, la: str | None) -> None:
    """Write the targets template: one row per KPI, the target blank, for the scorecard owner to fill in."""
    from pipelines.ingest.targets import resolve_la_code, template_csv

    la = la or config.scorecard_la()
    if la and resolve_la_code(la) is None:
        raise SendScorecardError(f"'{la}' is not an English local authority: give a code such as E08000007, a "
                                 "3-digit LA number such as 356, or a name such as Stockport.")
    output = output or config.raw_dir() / "targets" / "targets.csv"
    if output.exists():
        raise SendScorecardError(f"{output} already exists: edit it, or give --output for a new file.")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(template_csv(la), encoding="utf-8")
    console.print(Text(f"Wrote the targets template to {output}: fill in target, tolerance, set_by and agreed_on "
                       "for the KPIs you set targets for (rows left without a target are ignored), then refresh."))


@main.command()
@click.option("--limit", default=10, show_default=True)
@friendly_errors
def runs(limit: int) -> None:
    """The most recent refreshes: when, outcome, what was loaded, how long."""
    from pipelines.refresh import read_runs

    table = Table(title=f"Refreshes of {config.warehouse_path()}")
    for column in ("run", "started", "outcome", "loaded", "unchanged", "refused", "KPIs changed", "RAG changes",
                   "seconds", "detail"):
        table.add_column(column)
    for run in read_runs(config.warehouse_path(), limit):
        outcome = run["status"] + (f" at {run['failed_step']}" if run.get("failed_step") else "")
        detail = run.get("message") or "; ".join(run.get("rag_changes", []))
        table.add_row(*(Text(str(v)) for v in (
            run["run_id"], run["started_at"], outcome, len(run["loaded"]), len(run["skipped"]), len(run["quarantined"]),
            run.get("kpis_changed", 0), len(run.get("rag_changes", [])), f"{run['seconds']:.0f}", detail[:160])))
    out.print(table)


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Folder (default <warehouse dir>/docs).")
@friendly_errors
def docs(out_dir: Path | None) -> None:
    """Generate the warehouse documentation for JSNA authors (every mart and column, lineage)."""
    from pipelines.reports.docs import build_docs

    page = build_docs(out_dir)
    out.print(f"Documentation: {page}", highlight=False)


from pipelines.reports.cli_report import export, report, settings_template  # noqa: E402

main.add_command(report)
main.add_command(export)
main.add_command(settings_template)

from pipelines.quality.cli_check import check  # noqa: E402

main.add_command(check)

from pipelines.quality.report import dq_report  # noqa: E402

main.add_command(dq_report)

if __name__ == "__main__":
    main()
