"""Where DuckDB on one machine stops being comfortable, against the same build on local Spark
(design.md section 9; README "Running on Spark / Databricks").

Person-level SEN2-shaped data for all 153 LAs over 10 years, at the national volumes (about
600,000 EHC plans maintained and 100,000 requests for assessment a year), times a scale factor:

  requests: one row per request (LA, pseudonymous person key, received date, plan issue date or
            none, 20-week exception flag, age band) - 100,000 x 10 years x scale;
  plans:    one row per plan per January census (year, LA, person key, placement, age, start
            date) - 600,000 x 10 years x scale.

The build is what a person-level SEND warehouse computes from them, in portable SQL (the engine
differences are the project's macros, dbt_project/macros/cross_database.sql): per LA and year the
requests, plans issued and the share within 20 weeks (R type 7 quartiles across LAs), per LA and
census year the plans by placement with the change on the year before, and the person-level join
of every plan to its request. Each engine runs in its own process; time is the wall time of the
build (data already on disk as Parquet), memory the peak resident size of the process (for Spark,
the JVM), on this machine as it is (shared cores: compare engines within a run, not across runs).

    .venv/bin/python benchmarks/spark_scale.py --scales 1 2 5 10 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
N_LAS = 153
YEARS = 10
REQUESTS_PER_YEAR = 100_000
PLANS_PER_YEAR = 600_000

# The engine-specific pieces, as the project's macros write them (days_between, quantile_cont).
DIALECT = {
    "duckdb": {"days": "date_diff('day', {a}, {b})", "quantile": "quantile_cont({x}, {p})"},
    "spark": {"days": "datediff({b}, {a})", "quantile": "percentile({x}, {p})"},
}


def build_statements(engine: str) -> list[tuple[str, str]]:
    """The build: (table name, select) pairs, the same SQL on both engines but for DIALECT."""
    d = DIALECT[engine]
    days = d["days"].format(a="received_date", b="plan_issue_date")
    quartile = [d["quantile"].format(x="pct_within_20_weeks", p=p) for p in (0.25, 0.5, 0.75)]
    return [
        ("la_year_requests", f"""
            select la_code, year(received_date) as year,
                   count(*) as requests,
                   count(plan_issue_date) as plans_issued,
                   sum(case when plan_issue_date is not null and not is_exception and {days} <= 140
                            then 1 else 0 end) as within_20_weeks,
                   sum(case when plan_issue_date is not null and not is_exception then 1 else 0 end)
                       as issued_excluding_exceptions,
                   avg(case when plan_issue_date is not null then {days} end) as mean_days_to_plan
            from requests
            group by la_code, year(received_date)"""),
        ("la_year_timeliness", """
            select la_code, year, requests, plans_issued,
                   100.0 * within_20_weeks / nullif(issued_excluding_exceptions, 0) as pct_within_20_weeks
            from la_year_requests"""),
        ("national_quartiles", f"""
            select year, count(*) as n_las,
                   {quartile[0]} as cut_25, {quartile[1]} as cut_50, {quartile[2]} as cut_75
            from la_year_timeliness
            group by year"""),
        ("la_census_placements", """
            with counted as (
                select la_code, census_year, placement, count(*) as plans, count(distinct person_key) as people
                from plans
                group by la_code, census_year, placement
            )
            select la_code, census_year, placement, plans, people,
                   plans - lag(plans) over (partition by la_code, placement order by census_year) as change
            from counted"""),
        ("plans_with_requests", f"""
            select plans.la_code, plans.census_year,
                   count(*) as plans,
                   count(requests.person_key) as with_request,
                   avg({days.replace('received_date', 'requests.received_date')
                           .replace('plan_issue_date', 'requests.plan_issue_date')}) as mean_days_to_plan
            from plans
            left join requests
                on plans.person_key = requests.person_key and requests.plan_issue_date is not null
            group by plans.la_code, plans.census_year"""),
    ]


def generate(scale: int, folder: Path) -> dict[str, int]:
    """Write requests/ and plans/ Parquet for a scale factor (deterministic, from hashes)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    n_requests = REQUESTS_PER_YEAR * YEARS * scale
    n_plans = PLANS_PER_YEAR * YEARS * scale
    con = duckdb.connect()
    con.execute("set threads = 2")
    for name in ("requests", "plans"):
        if (folder / name).exists():
            shutil.rmtree(folder / name)
        (folder / name).mkdir()
    la = f"'E' || lpad(cast(hash(i * 31 + 7) % {N_LAS} as varchar), 8, '0')"
    con.execute(f"""
        copy (
            select {la} as la_code,
                   'P' || cast(i as varchar) as person_key,
                   cast(date '2015-01-01' + to_days(cast(hash(i) % (365 * {YEARS}) as integer)) as date)
                       as received_date,
                   case when hash(i * 3) % 100 < 62
                        then cast(date '2015-01-01' + to_days(cast(hash(i) % (365 * {YEARS}) + 40
                                  + hash(i * 5) % 200 as integer)) as date) end as plan_issue_date,
                   hash(i * 11) % 100 < 4 as is_exception,
                   ['0-4', '5-10', '11-15', '16-19', '20-25'][cast(1 + hash(i * 13) % 5 as bigint)] as age_band
            from range({n_requests}) as t(i)
        ) to '{folder / "requests" / "data.parquet"}' (format parquet, row_group_size 1000000)""")
    # plans: persons drawn from the requesters (about 60% of plan rows have a request on record)
    con.execute(f"""
        copy (
            select {la.replace('i * 31', 'p * 31')} as la_code,
                   2016 + cast(i % {YEARS} as integer) as census_year,
                   'P' || cast(p as varchar) as person_key,
                   ['mainstream', 'resourced_provision', 'maintained_special', 'independent_special',
                    'post_16', 'other'][cast(1 + hash(i * 17) % 6 as bigint)] as placement,
                   cast(hash(i * 19) % 26 as integer) as age
            from (select i, case when hash(i * 23) % 100 < 60 then hash(i * 29) % {n_requests}
                                 else {n_requests} + i end as p
                  from range({n_plans}) as t(i))
        ) to '{folder / "plans" / "data.parquet"}' (format parquet, row_group_size 1000000)""")
    con.close()
    return {"requests": n_requests, "plans": n_plans}


def run_duckdb(folder: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(folder / "bench.duckdb"))
    con.execute("set threads = 2")
    started = time.monotonic()
    for name in ("requests", "plans"):
        con.execute(f"create or replace view {name} as select * from read_parquet('{folder / name}/*.parquet')")
    for table, select in build_statements("duckdb"):
        con.execute(f"create or replace table {table} as {select}")
    seconds = time.monotonic() - started
    rows = con.execute("select count(*) from plans_with_requests").fetchone()[0]
    con.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024, "check_rows": rows}


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_spark(folder: Path) -> dict:
    from pyspark.sql import SparkSession

    warehouse = folder / "spark-warehouse"
    shutil.rmtree(warehouse, ignore_errors=True)
    spark = (SparkSession.builder.master("local[2]")
             .config("spark.driver.memory", os.environ.get("BENCH_SPARK_MEMORY", "8g"))
             .config("spark.sql.shuffle.partitions", "16")
             .config("spark.sql.warehouse.dir", str(warehouse))
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    started = time.monotonic()
    for name in ("requests", "plans"):
        spark.read.parquet(str(folder / name)).createOrReplaceTempView(name)
    for table, select in build_statements("spark"):
        spark.sql(f"drop table if exists {table}")
        spark.sql(f"create table {table} using parquet as {select}")
    seconds = time.monotonic() - started
    rows = spark.sql("select count(*) from plans_with_requests").collect()[0][0]
    jvm = spark.sparkContext._gateway.proc.pid
    peak = _vm_hwm_mib(jvm)
    spark.stop()
    return {"seconds": seconds, "peak_mib": peak, "check_rows": rows}


def measure(engine: str, folder: Path) -> dict:
    """One engine's build in a fresh process (so memory is that build's alone)."""
    result = subprocess.run([sys.executable, __file__, "--worker", engine, str(folder)],
                            capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"error": (result.stderr or result.stdout).strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 5, 10, 20])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/send-spark-scale"))
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, folder = args.worker
        print(json.dumps((run_duckdb if engine == "duckdb" else run_spark)(Path(folder))))
        return
    OUT.mkdir(exist_ok=True)
    results = []
    header = ("| scale | requests | plan rows | Parquet MB | " + " | ".join(
        f"{e} s | {e} peak MB" for e in args.engines) + " |")
    print(header)
    print("|" + "---|" * (4 + 2 * len(args.engines)))
    for scale in args.scales:
        folder = args.data / f"x{scale}"
        volumes = generate(scale, folder)
        size_mb = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 1e6
        row = {"scale": scale, **volumes, "parquet_mb": size_mb}
        cells = [f"{scale}x", f"{volumes['requests']:,}", f"{volumes['plans']:,}", f"{size_mb:,.0f}"]
        for engine in args.engines:
            outcome = measure(engine, folder)
            row[engine] = outcome
            if "error" in outcome:
                cells += ["failed", " ".join(outcome["error"])[:60]]
            else:
                cells += [f"{outcome['seconds']:.1f}", f"{outcome['peak_mib']:,.0f}" if outcome["peak_mib"] else "?"]
        results.append(row)
        print("| " + " | ".join(cells) + " |", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    (OUT / "spark_scale.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
