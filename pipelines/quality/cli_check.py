"""`send-scorecard check PATH`: run the quality gate on files without loading them.

Reads each file exactly as `ingest` would, validates it with its source's expectation suite and
prints the findings; nothing is written. The warehouse (when it exists and is not locked) supplies
the LA reference and the previous load's row count; without it those checks use what is available.
Exit status 1 when a blocking expectation fails or a file cannot be read.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines import config
from pipelines.errors import SendScorecardError

console = Console(stderr=True)
out = Console()

RESULT_STYLE = {"passed": "green", "FAILED": "bold red", "warning": "yellow", "not checked": "dim"}


def _open_warehouse(path: Path):
    """A read-only connection to the warehouse, or None (with the reason) when there is none to use."""
    import duckdb

    if not path.exists():
        return None, f"no warehouse at {path}: LA codes and row counts are checked without it"
    try:
        return duckdb.connect(str(path), read_only=True), ""
    except duckdb.Error as exc:
        return None, f"the warehouse could not be opened ({exc}); checked without it"


def check_paths(paths: list[Path], warehouse: Path) -> list:
    """Validate every data file under `paths`; returns (file, GateResult or error text) pairs."""
    from pipelines.ingest.loader import plan_files, read_source, with_lineage
    from pipelines.quality.gates import validate_frame

    con, note = _open_warehouse(warehouse)
    if note:
        console.print(f"[dim]{escape(note)}[/]", highlight=False)
    results = []
    try:
        for raw, spec, failure in plan_files(paths):
            if failure:
                results.append((failure.file, failure.message))
                continue
            try:
                frame = with_lineage(read_source(raw, spec, con), raw, dt.datetime.now())
            except SendScorecardError as exc:
                results.append((raw.name, str(exc)))
                continue
            results.append((raw.name, validate_frame(con, spec, frame, raw.name, raw.sha256)))
    finally:
        if con is not None:
            con.close()
    return results


def print_result(result) -> None:
    from pipelines.quality.gates import describe_sample

    verdict = ("[bold red]would be quarantined[/]" if not result.passed
               else "[yellow]passes with warnings[/]" if result.warnings else "[green]passes[/]")
    table = Table(title=f"{result.file} -> raw.{result.source}: {verdict}  ({result.rows:,} rows, "
                        f"{result.seconds:.1f} s)", title_justify="left", show_lines=False)
    for column in ("expectation", "severity", "result", "unexpected", "sample"):
        table.add_column(column, justify="right" if column == "unexpected" else "left",
                         overflow="fold", max_width=70 if column in ("expectation", "sample") else None)
    for r in result.results:
        style = RESULT_STYLE[r.result_word]
        unexpected = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
        detail = describe_sample(r) if r.success is False else (r.observed if r.success is None else "")
        words = escape(r.description) + (f"\n[dim]{escape(r.reason)}[/]" if r.reason and r.success is False else "")
        table.add_row(words, r.severity, f"[{style}]{r.result_word}[/]", unexpected, escape(detail or ""))
    out.print(table)
    for note in result.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    if not result.suite_from_file:
        console.print(f"[yellow]raw.{result.source} has no reviewed suite in expectations/; generic checks "
                      "were used.[/]", highlight=False)
    colour = "red" if not result.passed else "yellow" if result.warnings else "green"
    console.print(f"[{colour}]{escape(result.message)}[/]", highlight=False)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Check files (or every file under folders) against their quality gates without loading them."""
    try:
        results = check_paths(list(paths), config.warehouse_path())
    except SendScorecardError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    if not results:
        console.print(f"[bold red]Error:[/] no data files found in {escape(', '.join(map(str, paths)))}.", highlight=False)
        sys.exit(1)
    blocked = 0
    for file, result in results:
        if isinstance(result, str):
            blocked += 1
            console.print(f"[bold red]{escape(str(file))} cannot be read:[/] {escape(result)}", highlight=False)
            continue
        print_result(result)
        blocked += not result.passed
    summary = f"{len(results) - blocked} of {len(results)} file(s) pass their blocking checks"
    if blocked:
        console.print(f"[bold red]{summary}; {blocked} would not be loaded.[/]", highlight=False)
        sys.exit(1)
    console.print(f"[green]{summary}.[/]", highlight=False)
