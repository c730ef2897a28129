"""Ingest benchmark: all of ../shared/data (with the quality gate, then with it off: what reading and
writing alone take), the EHC plans release zip alone, then a demo set ten times the normal size.

Prints per source and in total: rows, seconds, rows/s and peak memory (the process's peak resident
set size after that source, which only grows). Each warehouse is opened as the refresh opens its build
copy (pipelines.refresh.connect_build). Run: .venv/bin/python benchmarks/ingest.py
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from pipelines.ingest.loader import ingest_paths
from pipelines.quality import gates
from pipelines.refresh import connect_build

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the top-level demo package

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(label: str, paths: list[Path], warehouse: Path) -> None:
    per_source: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    con = connect_build(warehouse)
    started = time.perf_counter()

    def on_file(result) -> None:
        entry = per_source[result.source or "?"]
        entry[0] += result.rows
        entry[1] += result.seconds
        entry[2] = peak_mb()

    try:
        results = ingest_paths(con, paths, on_file=on_file)
    finally:
        con.close()
    total = time.perf_counter() - started
    print(f"\n== {label}: {len(results)} files")
    print(f"{'source':32} {'rows':>11} {'seconds':>8} {'rows/s':>11} {'peak MB':>8}")
    for source, (rows, seconds, mb) in sorted(per_source.items(), key=lambda kv: -kv[1][1]):
        print(f"{source:32} {rows:>11,.0f} {seconds:>8.2f} {rows / max(seconds, 1e-9):>11,.0f} {mb:>8.0f}")
    rows = sum(v[0] for v in per_source.values())
    print(f"{'TOTAL':32} {rows:>11,.0f} {total:>8.2f} {rows / total:>11,.0f} {peak_mb():>8.0f}")
    for r in results:
        if r.status not in ("loaded", "skipped"):
            print(r.status.upper(), r.message[:300])


@contextlib.contextmanager
def gate_off():
    """While the block runs, every file passes its quality gate at once (no check runs)."""
    def passes(con, spec, frame, name, sha, run_id=None):
        now = dt.datetime.now()
        return gates.GateResult("benchmark", spec.table, name, sha, frame.height, [], now, now)

    validate = gates.validate_frame
    gates.validate_frame = passes  # the loader's gate thread takes it from the module on each call
    try:
        yield
    finally:
        gates.validate_frame = validate


def ehcp_baseline() -> None:
    """For scale: plain DuckDB read_csv of the 12 EHC plans CSVs (unzipped to a temp dir)."""
    import zipfile

    import duckdb

    zips = list(SHARED_DATA.glob("dfe/ehcp-plans-2025/*.zip"))
    if not zips:
        return
    with tempfile.TemporaryDirectory() as tmp:
        members = [m for m in zipfile.ZipFile(zips[0]).namelist() if m.startswith("data/")]
        zipfile.ZipFile(zips[0]).extractall(tmp, members)
        con = duckdb.connect()
        started = time.perf_counter()
        for i, member in enumerate(members):
            con.execute(f"create table t{i} as select * from read_csv('{Path(tmp) / member}', all_varchar=true)")
        print(f"\nbaseline: plain DuckDB read_csv of the 12 EHC plans CSVs: {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10, help="demo data scale (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if SHARED_DATA.is_dir():
            ehcp_baseline()
            bench("../shared/data (real DfE files)", [SHARED_DATA], tmp / "real.duckdb")
            with gate_off():
                bench("../shared/data, quality gate off (reading and writing alone)", [SHARED_DATA],
                      tmp / "real-gate-off.duckdb")
            ehcp = SHARED_DATA / "dfe" / "ehcp-plans-2025"
            bench("EHC plans release zip alone", [ehcp], tmp / "ehcp.duckdb")
        else:
            print(f"{SHARED_DATA} is absent: real-data figures skipped")
        from demo.generate import generate_demo

        started = time.perf_counter()
        generate_demo(tmp / "demo", seed=20241, scale=args.scale, with_local=False)
        print(f"\ngenerated demo data at scale {args.scale} in {time.perf_counter() - started:.1f} s")
        if args.scale > 1:
            # The scaled-up demo reaches back to synthetic years long before 2000, which the quality
            # gate rightly refuses; this run measures reading and loading alone.
            with gate_off():
                bench(f"demo data x{args.scale} (readers and loader; quality gate off)", [tmp / "demo"],
                      tmp / "demo.duckdb")
        else:
            bench("demo data", [tmp / "demo"], tmp / "demo.duckdb")


if __name__ == "__main__":
    main()
