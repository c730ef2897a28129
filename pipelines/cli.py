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
from pipelines.console import console, end_process, friendly_errors, out
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
        colour = {"loaded": "green", "skipped": "dim", "failed": "red", "quarantined": "yellow"}.get(r.status, "yellow")
        table.add_row(Text(r.file), Text(r.source or "?"), f"{r.rows:,}", f"[{colour}]{r.status}[/]")
    out.print(table)
    for r in results:
        if r.status in ("failed", "quarantined"):
            console.print(Text(r.message, style="red"), highlight=False)
        elif r.status == "unknown" or r.message.startswith("warning:"):  # unknown files; what a release lacks
            console.print(Text(r.message if r.status == "unknown" else f"{r.file}: {r.message}", style="yellow"),
                          highlight=False)
    return results


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@friendly_errors
def ingest(paths: tuple[Path, ...]) -> None:
    """Load national files (default: everything under SEND_RAW) into the warehouse.

    Takes the warehouse's writer lock: during a refresh it waits (SEND_LOCK_WAIT_SECONDS) and then
    loads into the warehouse that refresh published, or says who still holds the lock.
    """
    import getpass

    from pipelines.publish import writer_lock

    warehouse = config.warehouse_path()
    with writer_lock(warehouse, f"an ingest by {getpass.getuser()}", on_wait=lambda line: console.print(line)):
        results = run_ingest(list(paths) or [config.raw_dir()], warehouse)
    failed = [r for r in results if r.status in ("failed", "quarantined")]
    if not results:
        raise SendScorecardError(f"No data files found in {', '.join(map(str, paths or [config.raw_dir()]))}.")
    if all(r.status == "unknown" for r in results):
        raise SendScorecardError(f"None of the {len(results)} files in {', '.join(map(str, paths or [config.raw_dir()]))} "
                                 "is a known source (listed above with the source each looks most like).")
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
    from pipelines.refresh import run_refresh

    summary = run_refresh(
        config.raw_dir(), config.warehouse_path(), ingest=run_ingest, started_by=started_by,
        on_stage=lambda stage: console.print(f"[bold]{stage}[/] ..."), on_wait=lambda line: console.print(line),
    )
    console.print(Text(summary.sentence()), highlight=False)
    if summary.dbt:
        console.print(Text(summary.dbt + "."), highlight=False)
    for name in summary.quarantined:
        console.print(Text.assemble(("Refused: ", "yellow"), summary.refusals.get(name) or name), highlight=False)
    for path in summary.reports:
        out.print(path, highlight=False)
    return summary


@main.command()
@friendly_errors
def refresh() -> None:
    """Run the full refresh (as the monthly schedule does): load, build, test, publish atomically.

    The same engine as the Dagster job: one writer at a time, every run in `send-scorecard runs`.
    Exit status, for cron and Windows Task Scheduler: 0 published with every file loaded; 2 published
    but a file was refused (quarantined; its source keeps its last good data); 1 not published.
    """
    summary = refresh_with_progress("cli")
    if summary.quarantined:
        console.print(Text(f"{len(summary.quarantined)} file(s) were refused (exit status 2): "
                           f"{', '.join(summary.quarantined)}"), highlight=False)
        sys.exit(2)


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
    """The most recent refreshes, whoever started them (schedule, sensor, ui, cli, demo): when,
    outcome, what was loaded or refused, how long."""
    from pipelines.refresh import read_runs

    table = Table(title=f"Refreshes of {config.warehouse_path()}")
    for column in ("run", "started", "by", "outcome", "loaded", "unchanged", "refused", "KPIs changed",
                   "RAG changes", "seconds", "detail"):
        table.add_column(column)
    for run in read_runs(config.warehouse_path(), limit):
        outcome = run["status"] + (f" at {run['failed_step']}" if run.get("failed_step") else "")
        refused = [run.get("refusals", {}).get(name) or f"refused {name}" for name in run["quarantined"]]
        detail = "; ".join(filter(None, [run.get("message"), *refused, *run.get("rag_changes", [])]))
        table.add_row(*(Text(str(v)) for v in (
            run["run_id"], run["started_at"], run.get("started_by", "cli"), outcome, len(run["loaded"]),
            len(run["skipped"]), len(run["quarantined"]), run.get("kpis_changed", 0), len(run.get("rag_changes", [])),
            f"{run['seconds']:.0f}", detail[:300])))
    out.print(table)


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Folder (default <warehouse dir>/docs).")
@friendly_errors
def docs(out_dir: Path | None) -> None:
    """Generate the warehouse documentation for JSNA authors (every mart and column, lineage)."""
    from pipelines.reports.docs import build_docs

    page = build_docs(out_dir)
    out.print(f"Documentation: {page}", highlight=False)


@main.group()
def spark() -> None:
    """The same dbt project on Spark (README: Running on Spark / Databricks)."""


@spark.command("export")
@click.argument("out_dir", type=click.Path(path_type=Path), required=False)
@friendly_errors
def spark_export(out_dir: Path | None) -> None:
    """Write the warehouse's raw tables as Parquet, one folder per table (default data/spark/parquet)."""
    from pipelines.spark import export_raw_parquet, spark_dir

    out_dir = out_dir or spark_dir() / "parquet"
    tables = export_raw_parquet(config.warehouse_path(), out_dir)
    out.print(f"Exported {len(tables)} tables to {out_dir}", highlight=False)


@spark.command("build")
@click.argument("parquet_dir", type=click.Path(path_type=Path), required=False)
@friendly_errors
def spark_build(parquet_dir: Path | None) -> None:
    """Build the dbt project on a local Spark session from a Parquet export (default data/spark/parquet)."""
    from pipelines.spark import build_on_spark, spark_dir

    summary = build_on_spark(parquet_dir or spark_dir() / "parquet")
    out.print(summary.sentence(), highlight=False)


from pipelines.reports.cli_report import export, report, settings_template  # noqa: E402

main.add_command(report)
main.add_command(export)
main.add_command(settings_template)

from pipelines.quality.cli_check import check  # noqa: E402

main.add_command(check)

from pipelines.quality.report import dq_report  # noqa: E402

main.add_command(dq_report)


def run() -> None:
    """The `send-scorecard` command itself (`main` with its exit status), then `end_process`."""
    try:
        main()
        code = 0
    except SystemExit as exc:  # click ends every command so, with the status the command gave
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    end_process(code)


if __name__ == "__main__":
    run()
