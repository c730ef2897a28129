"""Load the expectation suites and prepare the frame they validate (helper columns, pandas conversion).

Suites live in `expectations/<raw table>.json` (SEND_EXPECTATIONS overrides the folder). A source
without a file gets the suite `build_suites.build_suite` makes from its SourceSpec, with a warning,
so a newly registered source is never loaded unchecked.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.sources import SourceSpec
from pipelines.ingest.values import text_as_categories
from pipelines.quality.build_suites import build_suite
from pipelines.quality.suite_files import (  # noqa: F401 (re-exported for the gates and tests)
    DISTINCT_SAFE,
    condition_text,
    expectation_columns,
    suites_dir,
)

log = logging.getLogger(__name__)


def load_suite(spec: SourceSpec) -> tuple[dict, bool]:
    """The suite of a source as GX JSON, and whether it came from a reviewed file."""
    path = suites_dir() / f"{spec.table}.json"
    if path.exists():
        return _read_suite(path, path.stat().st_mtime_ns), True
    log.warning("No reviewed expectation suite for %s (%s); using the generic checks from its SourceSpec. "
                "Add a definition to pipelines/quality/build_suites.py and run it.", spec.table, path)
    return build_suite(spec), False


@lru_cache(maxsize=64)
def _read_suite(path: Path, _mtime: int) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- helper columns ------------------------------------------------------------------------------------

# Helpers whose value depends only on one source column of the same row: they can be computed on a
# de-duplicated frame. The others (national_minus_regions) need the whole file.
ROW_LOCAL_HELPERS = frozenset({"measure_kind", "period_year", "whole_number"})


def helper_source(helper: dict) -> str:
    """The column a row-local helper is computed from (the helper itself for the others)."""
    return helper["column"] if helper["kind"] in ROW_LOCAL_HELPERS else helper["name"]


def add_helpers(frame: pl.DataFrame, helpers: list[dict], con: duckdb.DuckDBPyConnection | None,
                notes: list[str] | None = None) -> tuple[pl.DataFrame, list[str]]:
    """Add the suite's `dq_*` helper columns; returns the frame and notes on what could not be computed."""
    notes = [] if notes is None else notes
    for helper in helpers:
        kind = helper["kind"]
        if kind == "measure_kind":
            frame = frame.with_columns(_measure_kind(frame, helper, con, notes).alias(helper["name"]))
        elif kind == "period_year":
            text = pl.col(helper["column"]).cast(pl.String).str.strip_chars()
            frame = frame.with_columns(text.str.extract(r"^(\d{4})", 1).cast(pl.Int64).alias(helper["name"]))
        elif kind == "whole_number":
            value = pl.col(helper["column"])
            frame = frame.with_columns(((value - value.round(0)).abs() < 1e-9).alias(helper["name"]))
        elif kind == "national_minus_regions":
            frame = _national_minus_regions(frame, helper)
        else:
            raise ValueError(f"unknown helper kind {kind!r} in suite")
    return frame, notes


def _measure_kind(frame: pl.DataFrame, helper: dict, con: duckdb.DuckDBPyConnection | None,
                  notes: list[str]) -> pl.Expr:
    column = helper["column"]
    units: dict[str, str] = {}
    lookup = helper.get("lookup")
    if lookup:
        units = _lookup_units(con, lookup)
        if not units and not any(n.startswith(lookup["table"]) for n in notes):
            notes.append(f"{lookup['table']} is not loaded, so measures were not classified by unit "
                         "(percentage and count checks covered only measures named in the suite)")
    rules = [(rule, re.compile(rule["pattern"]) if rule.get("pattern") else None,
              re.compile(rule["unit_pattern"]) if rule.get("unit_pattern") else None) for rule in helper["rules"]]
    mapping = {}
    for name in frame.get_column(column).drop_nulls().unique().to_list():
        unit = units.get(name)
        mapping[name] = next(
            (rule["kind"] for rule, pattern, unit_pattern in rules
             if name in rule.get("names", ()) or (pattern and pattern.search(name))
             or (unit_pattern and unit is not None and unit_pattern.search(unit))),
            "other",
        )
    return pl.col(column).cast(pl.String).replace_strict(mapping, default="other", return_dtype=pl.String)


def _lookup_units(con: duckdb.DuckDBPyConnection | None, lookup: dict) -> dict[str, str]:
    if con is None:
        return {}
    schema, table = lookup["table"].split(".")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [schema, table]).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        f'select "{lookup["key"]}", first("{lookup["attribute"]}") from {schema}.{table} '
        f'where "{lookup["key"]}" is not null group by 1'
    ).fetchall()
    return {key: unit for key, unit in rows if unit is not None}


def _national_minus_regions(frame: pl.DataFrame, helper: dict) -> pl.DataFrame:
    level, region, value, status = helper["level"], helper["region"], helper["value"], helper["status"]
    group_by = [c for c in helper["group_by"] if c in frame.columns]
    regional = frame.filter(pl.col(level) == "Regional")
    n_regions = regional.get_column(region).n_unique() if regional.height else 0
    sums = regional.group_by(group_by).agg(
        pl.col(value).sum().alias("__regions_sum"),
        pl.col(region).n_unique().alias("__regions_n"),
        (pl.col(status) == "ok").all().alias("__regions_ok"),
    )
    national = frame.with_row_index("__row").filter(pl.col(level) == "National").select("__row", *group_by, value,
                                                                                        status)
    gap = national.join(sums, on=group_by, how="inner", nulls_equal=True).filter(
        (pl.col(status) == "ok") & pl.col("__regions_ok") & (pl.col("__regions_n") == n_regions)
    ).select("__row", (pl.col(value) - pl.col("__regions_sum")).alias(helper["name"]))
    column = pl.Series(helper["name"], [None] * frame.height, dtype=pl.Float64)
    if gap.height:
        column = column.scatter(gap.get_column("__row"), gap.get_column(helper["name"]))
    return frame.with_columns(column)


# --- the frame GX validates ---------------------------------------------------------------------------

def used_columns(suite: dict, columns: list[str]) -> set[str]:
    """Columns of `columns` that any expectation of `suite` reads."""
    used: set[str] = set()
    for expectation in suite["expectations"]:
        used |= expectation_columns(expectation)
    return used & set(columns)


SHAPE_EXPECTATIONS = frozenset({
    "expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list", "expect_column_to_exist",
    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between",
})


def is_shape_expectation(expectation: dict) -> bool:
    """Checks of the column names only: they are validated on an empty frame with every column."""
    return expectation["type"] in SHAPE_EXPECTATIONS


def to_validation_pandas(frame: pl.DataFrame, suite: dict):
    """The pandas frame GX validates for the row-level checks: only the columns the suite reads, text as
    categories (GX's set, regex, null and uniqueness checks then work on small integer codes, and its
    row filters and batch fingerprint touch far less data)."""
    import pandas as pd

    used = used_columns(suite, frame.columns) or set(frame.columns[:1])  # keep the row count
    data = text_as_categories(frame.select(c for c in frame.columns if c in used), used)
    # column by column: the whole frame at once goes through one Arrow table that pyarrow turns into
    # pandas at five times the memory (the 1.2M-row caseload file: ~90 MB at the peak, not ~16)
    return pd.DataFrame({c: _to_pandas(data.get_column(c).rechunk()) for c in data.columns})


def _to_pandas(column: pl.Series):
    """A categorical column through its Arrow dictionary array: the same pandas column as polars'
    `Series.to_pandas`, which makes a one-column Arrow table first (twice the time on the ~400 small
    columns of the national files' batches). Other types as polars converts them (dates differ)."""
    if column.dtype == pl.Categorical:
        return column.to_arrow().to_pandas().rename(column.name)
    return column.to_pandas()


def to_shape_pandas(frame: pl.DataFrame):
    """An empty pandas frame with every column of `frame` (for the column-name checks)."""
    return frame.head(0).to_pandas()


def distinct_frame(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The distinct combinations of `columns` with `dq_rows` (how many rows have it) and `dq_position`
    (the first row that has it); `frame` must carry `dq_position`."""
    # lazily, on just these columns: on 1.2M rows a third of the time and a seventh of the memory of an eager group_by
    return (frame.lazy().select(*columns, "dq_position").group_by(columns)
            .agg(pl.len().alias("dq_rows"), pl.col("dq_position").min()).sort("dq_position").collect())


def rows_matching(frame: pl.DataFrame, combinations: pl.DataFrame, columns: list[str], limit: int) -> list[int]:
    """Positions (`dq_position`) of the first `limit` rows of `frame` whose `columns` equal one of `combinations`."""
    matched = frame.select("dq_position", *columns).join(combinations.select(columns).unique(), on=columns,
                                                           how="semi", nulls_equal=True)
    return matched.get_column("dq_position").sort().head(limit).to_list()
