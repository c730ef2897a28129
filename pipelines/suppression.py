"""Disclosure control for everything that leaves the warehouse.

Two rules, one place each: `suppress` (small numbers) is the one function every published figure
goes through - the publication scorecard (cells, flags, notes, trend data), `export` without the
rights flags, and any CSV or Parquet written for publication; `safe_cell` / `escape_formulas` (no
live formulas) are used by every XLSX and CSV writer.

A count from 1 to the threshold (default 5; SEND_SUPPRESSION_THRESHOLD) could identify a child, so
in a published table it becomes `c`: the value is NULL and its status `suppressed`. A rate built on
such a count is suppressed too - a percentage whose numerator or denominator is small. Zero is not
suppressed: it identifies nobody. Numerator and denominator are cleared with the value so the
suppressed number cannot be recomputed from them.

This is primary suppression only: where a table also publishes totals, a suppressed cell may be
recoverable by subtraction, and the report that lays out such a table must suppress a second cell.
"""

from __future__ import annotations

import os
import re

import polars as pl

from pipelines.errors import SendScorecardError

THRESHOLD_ENV = "SEND_SUPPRESSION_THRESHOLD"
DEFAULT_THRESHOLD = 5
SUPPRESSED = "suppressed"
SUPPRESSED_SYMBOL = "c"
RATE_UNITS = ("percent", "rate")  # kept for callers; any unit other than 'count' is judged as a rate
COUNT_UNIT = "count"


def suppression_threshold(threshold: int | None = None) -> int:
    """The largest count that is suppressed: `threshold`, else SEND_SUPPRESSION_THRESHOLD, else 5."""
    if threshold is not None:
        value: object = threshold
    else:
        value = os.environ.get(THRESHOLD_ENV, "").strip() or DEFAULT_THRESHOLD
    try:
        number = int(str(value))
    except ValueError:
        raise SendScorecardError(
            f"{THRESHOLD_ENV} must be a whole number (the largest count to suppress, e.g. 5); it is '{value}'."
        ) from None
    if number < 0:
        raise SendScorecardError(f"{THRESHOLD_ENV} must not be negative; it is {number}.")
    return number


def is_small(count: pl.Expr, threshold: int) -> pl.Expr:
    """True where a count is 1..threshold (null and zero are not small)."""
    return (count >= 1) & (count <= threshold)


def suppress(frame: pl.DataFrame, *, threshold: int | None = None, value: str = "value",
             status: str = "value_status", numerator: str | None = "numerator",
             denominator: str | None = "denominator", unit: str | None = "unit") -> pl.DataFrame:
    """`frame` with small counts, and rates built on small counts, suppressed.

    A row is a count when its `unit` is 'count', and otherwise a rate built from a numerator and a
    denominator (a percent, a rate per 10,000, an average score: points / pupils), judged by those
    and never by its own size (an average score of 4.5 is not a count of pupils); with no unit
    column a row is a rate when it has a denominator. A rate is suppressed when its numerator or
    denominator is small, a count when its value is small. Suppressed rows get value NULL and status 'suppressed', and lose their numerator
    and denominator. Rows already suppressed stay so; other statuses are kept.
    """
    limit = suppression_threshold(threshold)
    columns = set(frame.columns)
    has_num = numerator is not None and numerator in columns
    has_den = denominator is not None and denominator in columns
    if unit is not None and unit in columns:
        is_rate = (pl.col(unit) != COUNT_UNIT).fill_null(False)
    elif has_den:
        is_rate = pl.col(denominator).is_not_null()
    else:
        is_rate = pl.lit(False)
    rate_small = pl.lit(False)
    if has_num:
        rate_small = rate_small | is_small(pl.col(numerator), limit).fill_null(False)
    if has_den:
        rate_small = rate_small | is_small(pl.col(denominator), limit).fill_null(False)
    count_small = is_small(pl.col(value), limit).fill_null(False)
    hide = pl.when(is_rate).then(rate_small).otherwise(count_small)
    if status in columns:
        hide = hide | (pl.col(status) == SUPPRESSED).fill_null(False)
    out = frame.with_columns(hide.alias("__hide"))
    cleared = [value] + ([numerator] if has_num else []) + ([denominator] if has_den else [])
    previous_status = pl.col(status) if status in columns else pl.lit("ok")
    return out.with_columns(
        *[pl.when(pl.col("__hide")).then(None).otherwise(pl.col(c)).alias(c) for c in cleared],
        pl.when(pl.col("__hide")).then(pl.lit(SUPPRESSED)).otherwise(previous_status).alias(status),
    ).drop("__hide")


def display_value(value: str = "value", status: str = "value_status", decimals: int = 1) -> pl.Expr:
    """The published cell: the number (to `decimals` places, whole for integers) or `c` when suppressed."""
    number = pl.col(value)
    text = (pl.when(number == number.round(0)).then(number.cast(pl.Int64).cast(pl.String))
            .otherwise(number.round(decimals, mode="half_away_from_zero").cast(pl.String)))
    return (pl.when(pl.col(status) == SUPPRESSED).then(pl.lit(SUPPRESSED_SYMBOL))
            .when(number.is_null()).then(pl.lit(None, pl.String))
            .otherwise(text)).alias(value)


def suppressed_mask(frame: pl.DataFrame, threshold: int | None = None, *, value: str = "value",
                    numerator: str | None = "numerator", denominator: str | None = "denominator",
                    unit: str | None = "unit") -> pl.Series:
    """True for the rows whose figure in `value` `suppress` would withhold (the same rule, not a copy)."""
    columns = [c for c in (value, numerator, denominator, unit) if c and c in frame.columns]
    probe = frame.select(columns).with_columns(pl.lit("ok").alias("__status"))
    out = suppress(probe, threshold=threshold, value=value, status="__status",
                   numerator=numerator if numerator in frame.columns else None,
                   denominator=denominator if denominator in frame.columns else None,
                   unit=unit if unit in frame.columns else None)
    return (out["__status"] == SUPPRESSED).alias("is_suppressed")


# ---------------------------------------------------------------------------------------------
# Formula injection: a text cell that Excel (or LibreOffice, Google Sheets) would run as a formula

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value` as it may be written to a spreadsheet or CSV cell: text starting with =, +, -, @, tab
    or CR gets a leading apostrophe so it stays text; numbers, dates, booleans and None are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text column passed through safe_cell (numbers stay numbers); list and
    struct columns become JSON text first (a CSV cell has no nested types)."""
    nested = [name for name, dtype in frame.schema.items() if isinstance(dtype, (pl.List, pl.Array, pl.Struct))]
    if nested:
        frame = frame.with_columns(
            pl.col(name).map_elements(_json_text, return_dtype=pl.String).alias(name) for name in nested)
    text = [name for name, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical, pl.Enum)
            or isinstance(dtype, (pl.Categorical, pl.Enum))]
    if not text:
        return frame
    starts = "^[" + "".join(re.escape(p) for p in FORMULA_PREFIXES) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(starts))
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String)).alias(name)
        for name in text)


def _json_text(value: object) -> str:
    import json

    return json.dumps(value.to_list() if isinstance(value, pl.Series) else value, default=str, ensure_ascii=False)


def escape_workbook(workbook) -> None:
    """Pass every cell of an openpyxl workbook through safe_cell, in place: the last step before any
    XLSX is saved, so no writer can leave a live formula (a cell openpyxl would store as one)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                    cell.value = safe_cell(value)
                    cell.data_type = "s"
