"""Refresh benchmark: the floor and three refreshes of ../shared/data plus the demo local extracts,
measured side by side in one run, so every figure is read as a ratio to the floor.

1. floor: bare DuckDB - `read_csv` of the 12 EHC plans CSVs + `read_parquet` of LAIT into tables;
2. cold, national files only (issue 15's definition: ../shared/data into an empty warehouse);
3. cold: `send-scorecard refresh` of ../shared/data plus the demo LA's local extracts into an empty
   warehouse; 4. nothing changed; 5. one local monthly file changed (one more page view in the Local
   Offer visits of the latest month); 6. the floor again, so the load on a shared machine shows (the
   ratios use the mean of the two floors); then 7. the JSNA queries of docs/jsna-questions.md on the
   published warehouse (benchmarks/jsna_queries.py: median and p95, in-process and through the CLI).

"CPU s" is the process's CPU time over all its threads (with the child processes it waited for); beside
the ingest's ratio the benchmark prints the ingest stage's CPU and the least wall time that much CPU needs on
this machine's cores, so a change that only moves work between threads is told from one that removes work.
Each step runs in a fresh Python process (as the CLI and the schedule do), so its wall time includes
start-up and the end (a refresh ends as the `send-scorecard` command does: pipelines.console.end_process,
without the interpreter's 1.5-3 s teardown of the libraries it loaded) and its peak memory (max RSS) is its own; "with child processes" adds what the processes it
starts (dbt, when the refresh runs it ahead in its own process) hold at the same moment. The machine's
load average is printed beside the table: on a shared machine compare the ratios, not the seconds.
Run: .venv/bin/python benchmarks/refresh.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the top-level demo package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # jsna_queries beside this script

import jsna_queries  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EHCP_ZIP = SHARED_DATA / "dfe" / "ehcp-plans-2025" / "education-health-and-care-plans_2025.zip"
LAIT_PARQUET = SHARED_DATA / "lait" / "bds_long_0.parquet"
STAGES = ("check", "prepare", "ingest", "dbt", "publish", "reports")

# The child processes: each prints one JSON line (seconds, stage seconds, peak memory) last.
FLOOR = """
import duckdb, json, resource, sys, time
csvs, parquet, db = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
started = time.perf_counter()
con = duckdb.connect(db)
for i, path in enumerate(csvs):
    con.execute(f"create table t{i} as select * from read_csv(?, all_varchar = true)", [path])
con.execute("create table lait as select * from read_parquet(?)", [parquet])
con.close()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - started, "stages": {}, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024}))
"""
REFRESH = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from pipelines.jobs import write_outputs
from pipelines.refresh import run_refresh
peaks, cpu, current = {}, {}, ["start", time.process_time()]
def on_stage(stage):  # the peak so far is the previous stage's (max RSS only grows); CPU: every thread's
    peaks[current[0]] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu[current[0]] = time.process_time() - current[1]
    current[:] = [stage, time.process_time()]
summary = run_refresh(Path(sys.argv[1]), Path(sys.argv[2]), write_reports=write_outputs, on_stage=on_stage)
on_stage("end")
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "stages": summary.stage_seconds, "peaks": peaks,
                  "stage_cpu": cpu, "cpu": time.process_time() + children.ru_utime + children.ru_stime,
                  "status": summary.status, "loaded": len(summary.loaded), "skipped": len(summary.skipped),
                  "refused": len(summary.quarantined),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
from pipelines.console import end_process
end_process(0)  # the process ends as the send-scorecard command's does
"""


def run_child(code: str, *args: str) -> dict:
    from pipelines import config

    # the drop-zone's local extracts are the demo LA's: the refresh is told so, as a council's is
    env = {**os.environ, "SEND_PSEUDONYM_KEY": os.environ.get("SEND_PSEUDONYM_KEY")
           or "benchmark-key-synthetic-data-only", "SEND_SCORECARD_LA": config.demo_la()}
    # a script file, not `python -c`: pyspark (installed by `make install-spark`) takes a main module
    # without __file__ for its own doctests, and exits when GX imports it
    with tempfile.NamedTemporaryFile("w", suffix=".py", prefix="send-bench-", delete=False) as script:
        script.write(code)
    started = time.perf_counter()
    try:
        with subprocess.Popen([sys.executable, script.name, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=Path(__file__).resolve().parents[1]) as child:
            tree = TreePeak(child.pid)
            tree.start()
            stdout, stderr = child.communicate()
            tree.stop()
    finally:
        os.unlink(script.name)
    if child.returncode != 0 or not stdout.strip():
        raise SystemExit(f"benchmark step failed (exit {child.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started  # with interpreter start-up and imports
    result["tree_mb"] = max(tree.peak_mb, result["peak_mb"])
    return result


class TreePeak(threading.Thread):
    """The largest resident memory of a process and its descendants together (the refresh may run dbt in
    a process of its own), sampled from /proc every 50 ms; a process's own peak (max RSS) misses that."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_mb, self._done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(_rss_mb(p) for p in _tree(self.pid)))

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def drop_zone(tmp: Path) -> tuple[Path, Path]:
    """../shared/data alone, and ../shared/data plus the demo LA's local extracts: two drop-zones."""
    from demo.local import generate_local_extracts

    national = tmp / "national_only"
    shutil.copytree(SHARED_DATA, national / "national")
    raw = tmp / "raw"
    shutil.copytree(SHARED_DATA, raw / "national")
    generate_local_extracts(raw, 20241)
    return national, raw


def floor(tmp: Path) -> dict:
    folder = tmp / "floor"
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(EHCP_ZIP) as archive:
        members = sorted(m for m in archive.namelist() if m.startswith("data/") and m.endswith(".csv"))
        archive.extractall(folder, members)
    csvs = [str(folder / m) for m in members]
    if len(csvs) != 12:
        raise SystemExit(f"expected the 12 EHC plans CSVs in {EHCP_ZIP.name}, found {len(csvs)}")
    return run_child(FLOOR, json.dumps(csvs), str(LAIT_PARQUET), str(folder / "floor.duckdb"))


def change_one_local_file(raw: Path) -> None:
    local = sorted((raw / "local").glob("local_offer_visits_*.csv"))[-1]
    lines = local.read_text().splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[2] = str(int(fields[2]) + 1)  # one more page view on the month's first row
    local.write_text("".join([lines[0], ",".join(fields), *lines[2:]]))


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def table(rows: list[tuple[str, dict]], floor_seconds: float) -> str:
    head = ["step", "wall s", "x floor", "CPU s", *(f"{s} s" for s in STAGES), "peak MB", "peak MB, with child processes",
            "load avg", "outcome"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, r in rows:
        stages = [f"{r['stages'][s]:.1f}" if s in r["stages"] else "" for s in STAGES]
        outcome = (f"{r['status']}: {r['loaded']} loaded, {r['skipped']} unchanged, {r['refused']} refused"
                   if "status" in r else "")
        lines.append("| " + " | ".join([label, f"{r['wall']:.1f}", f"{r['wall'] / floor_seconds:.1f}", f"{r['cpu']:.1f}",
                                        *stages,
                                        f"{r['peak_mb']:.0f}", f"{r['tree_mb']:.0f}", r["load"], outcome]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA} is absent: the refresh benchmark measures the real DfE files.")
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="send-refresh-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        national, raw = drop_zone(tmp)
        published = tmp / "warehouse" / "send.duckdb"
        rows: list[tuple[str, dict]] = []
        for label, step in (
            ("floor (bare DuckDB load)", lambda: floor(tmp)),
            ("cold refresh, national files only",
             lambda: run_child(REFRESH, str(national), str(tmp / "national_warehouse" / "send.duckdb"))),
            ("cold refresh", lambda: run_child(REFRESH, str(raw), str(published))),
            ("nothing changed", lambda: run_child(REFRESH, str(raw), str(published))),
            ("one local file changed", lambda: (change_one_local_file(raw),
                                                run_child(REFRESH, str(raw), str(published)))[1]),
            ("floor again (load check)", lambda: floor(tmp)),
        ):
            load = load_average()
            result = step()
            result["load"] = load
            rows.append((label, result))
            print(f"{label}: {result['wall']:.1f} s", file=sys.stderr, flush=True)
        # the floor is measured first and last: their mean is the yardstick, their gap the noise
        floor_seconds = (rows[0][1]["wall"] + rows[-1][1]["wall"]) / 2
        print(table(rows, floor_seconds))
        for label, cold in rows[1:3]:
            print(f"\n{label}: peak memory (MB) by the end of each stage: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in cold.get("peaks", {}).items()))
            ingest, ingest_cpu = cold["stages"].get("ingest", 0), cold.get("stage_cpu", {}).get("ingest", 0)
            print(f"{label}: ingest = {ingest / floor_seconds:.1f}x the floor ({ingest:.1f} s / {floor_seconds:.1f} s); "
                  f"its CPU {ingest_cpu:.1f} s (every thread), so on {os.cpu_count()} cores it takes at least "
                  f"{ingest_cpu / os.cpu_count():.1f} s = {ingest_cpu / os.cpu_count() / floor_seconds:.1f}x the floor; "
                  f"the floor's CPU {(rows[0][1]['cpu'] + rows[-1][1]['cpu']) / 2:.1f} s")
        print(f"{os.cpu_count()} cores, load average now {load_average()}")
        print(f"\nJSNA queries (docs/jsna-questions.md) on the published warehouse, load average {load_average()}:")
        print(jsna_queries.table(published))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
