"""Refresh benchmark: ../shared/data plus the demo local extracts, three ways.

1. cold: empty warehouse; 2. warm: nothing changed; 3. one changed local file.
Prints wall time, time per stage (prepare, ingest incl. checks, dbt, publish, reports) and the peak
memory of the process. Run: .venv/bin/python benchmarks/refresh.py
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipelines.jobs import write_outputs
from pipelines.refresh import run_refresh

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the top-level demo package

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def drop_zone(tmp: Path) -> Path:
    """../shared/data (when present) plus the demo LA's local extracts, in one drop-zone."""
    from demo.local import generate_local_extracts

    raw = tmp / "raw"
    if SHARED_DATA.is_dir():
        shutil.copytree(SHARED_DATA, raw / "national")
    else:
        from demo.generate import generate_demo

        print(f"{SHARED_DATA} is absent: using the national demo data instead")
        generate_demo(raw, seed=20241, with_local=False)
    generate_local_extracts(raw, 20241)
    return raw


def timed(label: str, raw: Path, published: Path) -> None:
    started = time.perf_counter()
    summary = run_refresh(raw, published, write_reports=write_outputs)
    wall = time.perf_counter() - started
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())
    print(f"{label:28} wall {wall:6.1f} s | {stages} | loaded {len(summary.loaded)}, unchanged "
          f"{len(summary.skipped)}, refused {len(summary.quarantined)} | peak {peak_mb():.0f} MB")


def main() -> None:
    os.environ.setdefault("SEND_PSEUDONYM_KEY", "benchmark-key-synthetic-data-only")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = drop_zone(tmp)
        published = tmp / "warehouse" / "send.duckdb"
        timed("cold (empty warehouse)", raw, published)
        timed("warm (nothing changed)", raw, published)
        local = sorted((raw / "local").glob("local_offer_visits_*.csv"))[-1]
        lines = local.read_text().splitlines(keepends=True)
        fields = lines[1].split(",")
        fields[2] = str(int(fields[2]) + 1)  # one more page view on the month's first row
        local.write_text("".join([lines[0], ",".join(fields), *lines[2:]]))
        timed("one changed local file", raw, published)


if __name__ == "__main__":
    main()
