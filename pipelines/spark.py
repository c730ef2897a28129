"""The dbt project on Spark: the raw tables as Parquet, the same models built
by dbt-spark on a local pyspark session, and the marts read back for comparison with DuckDB.

- export_raw_parquet: the warehouse's raw.* and meta.* tables as Parquet, one folder per table
  (<out>/<schema>/<table>/data.parquet), the input both engines build from;
- duckdb_from_parquet: a DuckDB warehouse whose raw tables are that Parquet (the DuckDB side of
  the parity test, so both engines read the same bytes);
- build_on_spark: registers the Parquet folders as the Spark catalogue's raw tables and runs
  dbt build --target spark (profiles.yml; needs `pip install -e '.[spark]'` and Java 17).

Spark and dbt-spark are optional dependencies: nothing here imports pyspark at module level.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import PROJECT_ROOT, setting
from pipelines.dbt_runner import RunSummary, dbt_build, dbt_run_operation
from pipelines.errors import SendScorecardError

# The schemas the dbt sources read: the ingest's raw tables and its load log.
EXPORTED_SCHEMAS = ("raw", "meta")
# Schemas dbt writes the published tables to (the parity test compares every table in them).
MART_SCHEMAS = ("marts", "casework_restricted")


class SparkUnavailableError(SendScorecardError):
    """Spark cannot run here: pyspark / dbt-spark not installed or no Java."""


def spark_dir() -> Path:
    """Where the Spark target keeps its tables and catalogue (SEND_SPARK_DIR, default data/spark)."""
    path = Path(os.environ.get("SEND_SPARK_DIR") or "data/spark").expanduser()
    return (path if path.is_absolute() else PROJECT_ROOT / path).resolve()


def spark_missing_reason() -> str | None:
    """Why the Spark target cannot run here, in a sentence; None when it can."""
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark and dbt-spark are not installed (make install-spark, or pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Spark needs Java 17 and no java is on PATH (nor JAVA_HOME set)"
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_raw_parquet(warehouse: Path, out_dir: Path) -> list[str]:
    """Write every table of the warehouse's raw and meta schemas to <out_dir>/<schema>/<table>/data.parquet
    (a long raw table stored in parts is its view, raw.<table>: the parts' schema is not exported).

    Returns the tables written as "schema.table". Folders of tables no longer in the warehouse are
    removed, so the folder is always exactly the warehouse's raw data.
    """
    warehouse, out_dir = Path(warehouse), Path(out_dir)
    if not warehouse.exists():
        raise SendScorecardError(f"The warehouse {warehouse} does not exist: load the data first (send-scorecard ingest).")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in EXPORTED_SCHEMAS)}) "
            "and (table_type = 'BASE TABLE' or table_schema = 'raw') "  # a split long raw table is a view
            "order by table_schema, table_name", list(EXPORTED_SCHEMAS),
        ).fetchall()
        written = []
        for schema in EXPORTED_SCHEMAS:
            if (out_dir / schema).is_dir():
                keep = {table for s, table in tables if s == schema}
                for folder in (out_dir / schema).iterdir():
                    if folder.is_dir() and folder.name not in keep:
                        shutil.rmtree(folder)
        for schema, table in tables:
            folder = out_dir / schema / table
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            target = str(folder / "data.parquet").replace("'", "''")
            con.execute(f"copy {_quote(schema)}.{_quote(table)} to '{target}' (format parquet)")
            written.append(f"{schema}.{table}")
    finally:
        con.close()
    return written


def parquet_tables(parquet_dir: Path) -> list[str]:
    """The "schema.table" names of an export folder (each a folder holding .parquet files)."""
    parquet_dir = Path(parquet_dir)
    found = []
    for schema in EXPORTED_SCHEMAS:
        if (parquet_dir / schema).is_dir():
            found += [f"{schema}.{folder.name}" for folder in sorted((parquet_dir / schema).iterdir())
                      if folder.is_dir() and any(folder.glob("*.parquet"))]
    if not found:
        raise SendScorecardError(
            f"{parquet_dir} holds no exported tables (expected raw/<table>/*.parquet): run send-scorecard spark export.")
    return found


def duckdb_from_parquet(parquet_dir: Path, warehouse: Path) -> list[str]:
    """A new DuckDB warehouse at `warehouse` whose raw and meta tables are the Parquet export."""
    tables = parquet_tables(parquet_dir)
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    if warehouse.exists():
        warehouse.unlink()
    con = duckdb.connect(str(warehouse))
    try:
        for qualified in tables:
            schema, table = qualified.split(".")
            files = str(Path(parquet_dir) / schema / table / "*.parquet").replace("'", "''")
            con.execute(f"create schema if not exists {_quote(schema)}")
            con.execute(f"create table {_quote(schema)}.{_quote(table)} as select * from read_parquet('{files}')")
    finally:
        con.close()
    return tables


@contextmanager
def _spark_environment() -> Iterator[Path]:
    """SEND_SPARK_DIR made absolute for profiles.yml, for the duration of a dbt invocation."""
    directory = spark_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with setting("SEND_SPARK_DIR", str(directory)):
        yield directory


def build_on_spark(parquet_dir: Path, select: str | None = None, vars: dict | None = None,  # noqa: A002 - dbt's word
                   exclude: str | None = None) -> RunSummary:
    """Build the dbt project on Spark from a Parquet export: register its tables, then dbt build.

    The session is dbt-spark's (profiles.yml, target spark), created in this process and kept for
    its life, so spark_session() afterwards reads what was built.
    """
    reason = spark_missing_reason()
    if reason:
        raise SparkUnavailableError(f"Cannot build on Spark: {reason}.")
    parquet_dir = Path(parquet_dir).resolve()
    tables = parquet_tables(parquet_dir)
    with _spark_environment():
        dbt_run_operation("register_parquet_tables", {"parquet_dir": str(parquet_dir), "tables": tables},
                          target="spark")
        return dbt_build(None, select=select, vars=vars, target="spark", exclude=exclude)


def spark_session():
    """The Spark session of this process: the one dbt-spark built in (build_on_spark), which holds
    the catalogue with the built tables."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def read_spark_tables(schemas: tuple[str, ...] = MART_SCHEMAS) -> dict[str, pl.DataFrame]:
    """Every table of the given schemas in this process's Spark catalogue, as polars frames keyed
    "schema.table"."""
    spark = spark_session()
    frames = {}
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        for table in spark.catalog.listTables(schema):
            if table.tableType == "VIEW" or table.isTemporary:
                continue
            frames[f"{schema}.{table.name}"] = pl.from_arrow(spark.table(f"{schema}.{table.name}").toArrow())
    return frames


def read_duckdb_tables(warehouse: Path, schemas: tuple[str, ...] = MART_SCHEMAS) -> dict[str, pl.DataFrame]:
    """Every table of the given schemas of a DuckDB warehouse, as polars frames keyed "schema.table"."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in schemas)}) and table_type = 'BASE TABLE'",
            list(schemas),
        ).fetchall()
        return {f"{schema}.{table}": pl.from_arrow(con.sql(f"select * from {_quote(schema)}.{_quote(table)}").to_arrow_table())
                for schema, table in names}
    finally:
        con.close()


def _comparable(frame: pl.DataFrame, numeric: set[str]) -> pl.DataFrame:
    """Numbers as Float64, everything else as text (dates ISO, booleans true/false, times in UTC)."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if name in numeric:
            columns.append(column.cast(pl.Float64))
            continue
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        columns.append(column.cast(pl.String))
    return frame.select(columns)


def table_differences(name: str, left: pl.DataFrame, right: pl.DataFrame, tolerance: float = 1e-9,
                      limit: int = 5) -> list[str]:
    """How two builds of one table differ, in sentences (empty when they are equal): the same
    columns, the same number of rows, and row by row (both sorted on every column) numbers equal to
    within `tolerance` (relative to the larger magnitude, at least 1) and everything else equal."""
    left_columns = [c.lower() for c in left.columns]
    right_columns = [c.lower() for c in right.columns]
    if left_columns != right_columns:
        return [f"{name}: the columns differ ({', '.join(left_columns)} against {', '.join(right_columns)})."]
    right = right.rename(dict(zip(right.columns, left.columns, strict=True)))
    if left.height != right.height:
        return [f"{name}: {left.height} rows against {right.height}."]
    numeric = {c for c in left.columns if left.schema[c].is_numeric() and right.schema[c].is_numeric()}
    mixed = [c for c in left.columns if c not in numeric and (left.schema[c].is_numeric() or right.schema[c].is_numeric())]
    if mixed:
        return [f"{name}.{c}: a number on one engine and not on the other ({left.schema[c]} against {right.schema[c]})."
                for c in mixed]
    left, right = _comparable(left, numeric), _comparable(right, numeric)
    texts = [c for c in left.columns if c not in numeric]
    order = texts + [f"__{c}" for c in sorted(numeric)]

    def sort(frame: pl.DataFrame) -> pl.DataFrame:
        keys = frame.with_columns([pl.col(c).round(6).alias(f"__{c}") for c in numeric])
        return keys.sort(order, nulls_last=True).drop([f"__{c}" for c in numeric])

    left, right = sort(left), sort(right)
    problems = []
    for column in left.columns:
        a, b = left[column], right[column]
        if column in numeric:
            bad = pl.DataFrame({"a": a, "b": b}).with_row_index().filter(
                (pl.col("a").is_null() != pl.col("b").is_null())
                | ((pl.col("a") - pl.col("b")).abs()
                   > tolerance * pl.max_horizontal(pl.col("a").abs(), pl.col("b").abs(), pl.lit(1.0))))
        else:
            bad = pl.DataFrame({"a": a, "b": b}).with_row_index().filter(
                (pl.col("a").is_null() != pl.col("b").is_null()) | (pl.col("a") != pl.col("b")))
        for row in bad.head(limit).iter_rows(named=True):
            problems.append(f"{name}.{column}, row {row['index'] + 1} (sorted): {row['a']!r} against {row['b']!r}.")
        if bad.height > limit:
            problems.append(f"{name}.{column}: {bad.height - limit} more rows differ.")
    return problems
