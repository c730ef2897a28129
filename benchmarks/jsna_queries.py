"""JSNA query benchmark: the queries of docs/jsna-questions.md on a built warehouse, in-process.

Each documented `send-scorecard sql "..."` query runs RUNS times in two ways: on one open read-only
connection (in-process, as a notebook, Dagster or a BI tool holding the warehouse open queries it;
issue 15's figure, target p95 < 100 ms) and as the CLI runs it (pipelines.query.run_query: a read-only
connection opened per query, the result as a polars frame). The table prints medians and 95th
percentiles beside the floor, a `select 1` the same two ways.

The queries are read from the page, not copied here: a query the page changes is measured as changed.
Run: .venv/bin/python benchmarks/jsna_queries.py WAREHOUSE (benchmarks/refresh.py runs it on its cold
refresh's warehouse).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGE = Path(__file__).resolve().parents[1] / "docs" / "jsna-questions.md"
RUNS = 40
TARGET_MS = 100.0
_QUERY = re.compile(r'```sh\nsend-scorecard sql "(.*?)"\n```', re.DOTALL)
_HEADING = re.compile(r"^## (.+)$", re.MULTILINE)


def documented_queries(page: Path = PAGE) -> list[tuple[str, str]]:
    """(label, query) for each `send-scorecard sql` block of the page, labelled by its section."""
    text = page.read_text(encoding="utf-8")
    headings = [(m.start(), m.group(1).strip()) for m in _HEADING.finditer(text)]
    out = []
    for match in _QUERY.finditer(text):
        section = next((title for start, title in reversed(headings) if start < match.start()), "query")
        label = section.split("?")[0][:60]
        out.append((label if label not in {lbl for lbl, _ in out} else f"{label} (2)", match.group(1).strip()))
    if not out:
        raise SystemExit(f"{page} has no `send-scorecard sql \"...\"` blocks: nothing to measure.")
    return out


def time_query(warehouse: Path, query: str, runs: int = RUNS) -> tuple[int, list[float], list[float]]:
    """The query's row count and its `runs` times in ms on one open connection and through the CLI's
    door (one unmeasured run first warms the OS cache)."""
    from pipelines.ingest.loader import connect_warehouse
    from pipelines.query import run_query

    rows = run_query(warehouse, query).height
    door = []
    for _ in range(runs):
        started = time.perf_counter()
        run_query(warehouse, query)
        door.append((time.perf_counter() - started) * 1000)
    con = connect_warehouse(warehouse, read_only=True)
    try:
        con.sql(query).pl()
        open_ = []
        for _ in range(runs):
            started = time.perf_counter()
            con.sql(query).pl()
            open_.append((time.perf_counter() - started) * 1000)
    finally:
        con.close()
    return rows, open_, door


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def table(warehouse: Path, runs: int = RUNS) -> str:
    """The markdown table: the floor, then every documented query, with rows, median, p95 and the target."""
    lines = ["| query | rows | open connection: median ms | p95 ms | < 100 ms | CLI door (open per query): "
             "median ms | p95 ms |", "|---|---|---|---|---|---|---|"]
    worst = 0.0
    for label, query in [("floor: `select 1`", "select 1"), *documented_queries()]:
        rows, open_, door = time_query(warehouse, query, runs)
        worst = max(worst, p95(open_))
        lines.append(f"| {label} | {rows} | {statistics.median(open_):.1f} | {p95(open_):.1f} | "
                     f"{'yes' if p95(open_) < TARGET_MS else 'NO'} | {statistics.median(door):.1f} | "
                     f"{p95(door):.1f} |")
    lines.append(f"\nslowest p95 on an open connection {worst:.1f} ms against the target of < {TARGET_MS:.0f} ms "
                 f"({runs} runs each)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a built warehouse (send.duckdb)")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    print(table(args.warehouse, args.runs))


if __name__ == "__main__":
    main()
