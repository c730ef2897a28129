"""Benchmark: an SEN2 person-level XML return read, validated and loaded at volume, with flat memory.

Writes synthetic SEN2 returns (demo.sen2: a large LA - about 20,000 persons, ten years of requests -
repeated `--scale` times with other seeds) and loads each into a fresh warehouse in its own process
(read with the streaming reader, pseudonymised, checked by the validation rules and the GX gate batch
by batch, written in one transaction). Prints per size: persons, requests, file MB, seconds,
persons/s and peak resident memory (VmHWM). Memory should not grow with the file: the loader holds
one batch of persons at a time.

    .venv/bin/python benchmarks/sen2.py --scales 1 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from demo.local import DEMO_PSEUDONYM_KEY  # noqa: E402
from demo.sen2 import PublishedFigures, census_date, synthesise_return, write_sen2_xml  # noqa: E402
from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV  # noqa: E402

EXTRACT = dt.date(2025, 6, 30)


def large_la() -> PublishedFigures:
    """A large LA's ten years: about 1,500 requests and 900 new plans a year, 8,000 plans in 2015."""
    years = range(2015, 2025)
    return PublishedFigures(
        "356",
        requests={y: 1_300 + 40 * (y - 2015) for y in years},
        plans={y: 800 + 20 * (y - 2015) for y in years},
        plans_ex={y: 770 + 19 * (y - 2015) for y in years},
        within={y: 450 + 5 * (y - 2015) for y in years},
        within_ex={y: 440 + 5 * (y - 2015) for y in years},
        mediation={y: 60 for y in years}, tribunal={y: 30 for y in years},
        caseload={y: 5_000 + 500 * (y - 2015) for y in range(2015, 2026)},
    )


def persons(scale: int) -> Iterator[dict]:
    """`scale` copies of the large LA, each synthesised with its own seed (one copy in memory at a time)."""
    for copy in range(scale):
        yield from synthesise_return(large_la(), seed=1000 + copy)


def write(folder: Path, scale: int) -> tuple[Path, int]:
    count = 0

    def counted() -> Iterator[dict]:
        nonlocal count
        for person in persons(scale):
            count += 1
            yield person

    path = write_sen2_xml(folder / f"sen2_x{scale}.xml", counted(), "356", census_date(2025), EXTRACT)
    return path, count


def peak_rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_one(xml: str, warehouse: str) -> dict:
    """In this process: load the return into a fresh warehouse; seconds and peak memory."""
    import great_expectations  # noqa: F401 - imported before timing, as any loader run has it loaded

    from pipelines.ingest.loader import connect_warehouse
    from pipelines.ingest.sen2.load import load_sen2

    before = peak_rss_mb()
    con = connect_warehouse(Path(warehouse))
    started = time.perf_counter()
    result = load_sen2(con, [Path(xml)], expected_la={"356"})
    seconds = time.perf_counter() - started
    requests = con.execute("select count(*) from raw.sen2_requests").fetchall()[0][0] if result.status == "loaded" else 0
    con.close()
    return {"status": result.status, "message": result.message[:300], "seconds": seconds, "requests": requests,
            "peak_rss_mb": peak_rss_mb(), "rss_before_mb": before}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--child", nargs=2, metavar=("XML", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(load_one(*args.child)))
        return
    env = {**os.environ, PSEUDONYM_KEY_ENV: os.environ.get(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="sen2-bench-") as tmp:
        for scale in args.scales:
            started = time.perf_counter()
            xml, count = write(Path(tmp), scale)
            written = time.perf_counter() - started
            out = subprocess.run([sys.executable, __file__, "--child", str(xml), str(Path(tmp) / f"w{scale}.duckdb")],
                                 env=env, capture_output=True, text=True, check=True)
            measured = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append({"scale": scale, "persons": count, "file_mb": xml.stat().st_size / 2**20,
                         "write_seconds": written, **measured})
            xml.unlink()
    print(f"{'scale':>5} {'persons':>9} {'requests':>9} {'file MB':>8} {'seconds':>8} {'persons/s':>10} "
          f"{'peak MB':>8}  status")
    for r in rows:
        print(f"{r['scale']:>5} {r['persons']:>9,} {r['requests']:>9,} {r['file_mb']:>8.1f} {r['seconds']:>8.1f} "
              f"{r['persons'] / r['seconds']:>10,.0f} {r['peak_rss_mb']:>8.0f}  {r['status']}: {r['message'][:120]}")


if __name__ == "__main__":
    main()
