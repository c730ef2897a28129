"""Benchmark: ingest of the local monthly extracts at volume.

Generates the demo local extracts at `--scale` (10: ~100,000 casework, ~500,000 exclusion and
~5,000,000 web analytics rows) in a temporary folder, then loads each source into a fresh warehouse
in its own process, so each source's peak memory is its own. Prints per source: files, rows,
seconds, rows/s, peak resident memory (VmHWM, else getrusage's ru_maxrss) and, with --tracemalloc, the peak of
Python-heap allocations (polars and DuckDB allocate outside it). With --readers-only it times the
readers alone (parse, check, pseudonymise), without the quality gate and the warehouse write.

    .venv/bin/python benchmarks/local_ingest.py --scale 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from demo.local import DEMO_PSEUDONYM_KEY, generate_local_extracts  # noqa: E402
from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV  # noqa: E402

TABLES = ("local_ehcp_casework", "local_exclusions", "local_offer_visits", "local_training",
          "local_post16_tracking")


def rss_mb() -> float:
    """Current resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    VmHWM (Linux) starts afresh at exec; getrusage's ru_maxrss can carry the parent's peak over a
    fork and exec, so it is only the fallback.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_one_source(raw: Path, warehouse: Path, table: str, trace: bool, readers_only: bool) -> dict:
    """Load (or with `readers_only` just read) every file of `table` under `raw`; runs in a child process."""
    from pipelines.ingest.loader import connect_warehouse, ingest_paths
    from pipelines.ingest.local import LOCAL_READERS
    from pipelines.ingest.rawfile import RawFile
    from pipelines.ingest.sources import detect_source

    files = sorted(p for p in (raw / "local").iterdir() if detect_source(p.name).table == table)
    baseline = rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if readers_only:
        rows = sum(LOCAL_READERS[table](RawFile.from_path(p)).height for p in files)
        failed: list[str] = []
    else:
        con = connect_warehouse(warehouse)
        results = ingest_paths(con, files)
        con.close()
        rows = sum(r.rows for r in results)
        failed = [r.message for r in results if r.status != "loaded"]
    seconds = time.perf_counter() - started
    return {
        "table": table, "files": len(files), "rows": rows, "seconds": seconds,
        "bytes": sum(p.stat().st_size for p in files), "baseline_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "python_heap_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20 if trace else None,
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20241)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python-heap allocations (slower)")
    parser.add_argument("--readers-only", action="store_true", help="time the readers alone (no gate, no write)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (and reuse it if full)")
    parser.add_argument("--child", nargs=3, metavar=("RAW", "WAREHOUSE", "TABLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)
    if args.child:
        raw, warehouse, table = args.child
        print(json.dumps(load_one_source(Path(raw), Path(warehouse), table, args.tracemalloc, args.readers_only)))
        return

    with tempfile.TemporaryDirectory(prefix="send-bench-") as tmp:
        raw = args.keep or Path(tmp) / "raw"
        if args.keep and (raw / "local").is_dir() and any((raw / "local").iterdir()):
            files = sorted((raw / "local").iterdir())
            print(f"Reusing {len(files)} files in {raw / 'local'}")
        else:
            started = time.perf_counter()
            files = generate_local_extracts(raw, seed=args.seed, scale=args.scale)
            generated = time.perf_counter() - started
            size = sum(p.stat().st_size for p in files) / 2**20
            print(f"Generated {len(files)} files ({size:,.0f} MB) at scale {args.scale} in {generated:.1f} s")
        print("Readers only (parse, check, pseudonymise)" if args.readers_only
              else "Full ingest (reader, quality gate, warehouse write)")
        warehouse = Path(tmp) / "bench.duckdb"
        header = (f"{'source':<24}{'files':>6}{'rows':>12}{'MB in':>8}{'seconds':>9}{'rows/s':>11}"
                  f"{'RSS base MB':>13}{'RSS peak MB':>13}" + (f"{'py heap MB':>12}" if args.tracemalloc else ""))
        print(header)
        total_rows, total_seconds = 0, 0.0
        for table in TABLES:
            command = [sys.executable, __file__, "--child", str(raw), str(warehouse), table]
            command += ["--tracemalloc"] if args.tracemalloc else []
            command += ["--readers-only"] if args.readers_only else []
            child = subprocess.run(command, capture_output=True, text=True)
            if child.returncode:
                raise SystemExit(f"{table}: the benchmark process failed\n{child.stderr[-3000:]}")
            result = json.loads(child.stdout.splitlines()[-1])
            if result["failed"]:
                raise SystemExit(f"{table}: {result['failed'][0]}")
            total_rows, total_seconds = total_rows + result["rows"], total_seconds + result["seconds"]
            line = (f"{table:<24}{result['files']:>6}{result['rows']:>12,}{result['bytes'] / 2**20:>8,.0f}"
                    f"{result['seconds']:>9.1f}{result['rows'] / result['seconds']:>11,.0f}"
                    f"{result['baseline_mb']:>13,.0f}{result['peak_rss_mb']:>13,.0f}")
            if args.tracemalloc:
                line += f"{result['python_heap_peak_mb']:>12,.0f}"
            print(line, flush=True)
        print(f"{'total':<24}{'':>6}{total_rows:>12,}{'':>8}{total_seconds:>9.1f}"
              f"{total_rows / total_seconds:>11,.0f}")
        if warehouse.exists():
            print(f"Warehouse file: {warehouse.stat().st_size / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
