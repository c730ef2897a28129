"""Split published cells into `value` + `value_status`.

Published files use symbols instead of numbers. Every numeric cell is read as text; this module
turns a text column into a DOUBLE `value` and a `value_status`, and refuses any other text with an
error that names the file, row and column.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipelines.errors import SourceFormatError

# symbol (lower case, stripped) -> status. Numbers are `ok`; anything else is an error.
SYMBOL_STATUS: dict[str, str] = {
    "c": "suppressed",
    "x": "unavailable",
    ":": "unavailable",
    "z": "not_applicable",
    "low": "low",
    "~": "low",
    "k": "low",
    "u": "low_reliability",
    "-": "missing",
    "..": "missing",
    ".": "missing",
    "": "missing",
}
VALUE_STATUSES = ("ok", "suppressed", "unavailable", "not_applicable", "low", "low_reliability", "missing")

# Float artefacts such as 9.8000000000000007 are rounded to this many significant figures.
SIGNIFICANT_FIGURES = 12

_THOUSANDS = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"


def split_value_column(frame: pl.DataFrame, column: str, *, file: str, row_column: str = "source_row",
                       column_name_column: str | None = None) -> pl.DataFrame:
    """Add to text column `column` (String or Categorical) its `value` (Float64) and `value_status`
    (Categorical: a long frame repeats a handful of statuses a million times).

    `row_column` holds each row's line in the file and `column_name_column` (for long frames) the
    original column name, so an unknown symbol is reported as file, row and column.
    """
    # Published files repeat the same cells many times: parse each distinct text once, then look it up.
    distinct = _parse_cells(frame.select(pl.col(column).unique()), column).with_columns(
        pl.col("value_status").cast(pl.Categorical))
    out = frame.hstack(_looked_up(frame.get_column(column), distinct, column).select("value", "value_status"))
    bad = out.filter(pl.col("value_status").is_null())
    if bad.height:
        first = bad.sort(row_column).row(0, named=True)
        col = first[column_name_column] if column_name_column else column
        others = f" ({bad.height - 1} more cells like it)" if bad.height > 1 else ""
        known = ", ".join(repr(s) for s in SYMBOL_STATUS if s)
        raise SourceFormatError(
            file,
            f"'{first[column]}' is neither a number nor a known symbol ({known}){others}",
            row=first[row_column],
            column=col,
        )
    return out


def _looked_up(cells: pl.Series, distinct: pl.DataFrame, column: str) -> pl.DataFrame:
    """The row of `distinct` (one row per distinct cell, in `column`) for each of `cells`, in their order.

    Categories are looked up by their codes (an array index a row, not a join of the whole frame: about half
    the time for a long EES file); text by a join of the one column."""
    if cells.dtype != pl.Categorical:
        return cells.to_frame(column).join(distinct, on=column, how="left", nulls_equal=True, maintain_order="left")
    import numpy as np  # here, not at the top: a refresh with nothing changed reads no file

    codes = distinct.get_column(column).to_physical()
    known = codes.is_not_null().to_numpy()
    position = np.zeros(int(codes.max() or 0) + 1, dtype=np.int64)  # a code's row in `distinct`
    position[codes.to_numpy()[known].astype(np.int64)] = np.flatnonzero(known)
    row_codes = cells.to_physical()
    rows = position[row_codes.fill_null(0).to_numpy()]
    if row_codes.null_count():
        rows[row_codes.is_null().to_numpy()] = np.flatnonzero(~known)[0]
    return distinct[rows]


def text_as_categories(frame: pl.DataFrame, columns: Iterable[str] | None = None) -> pl.DataFrame:
    """The frame with its text columns (those among `columns`, default all) as categories.

    A long frame repeats each geography, filter and measure cell once per indicator: as a category a
    cell costs 4 bytes a row where a text costs 16, and grouping, joining and the quality gate's
    pandas copy work on the small codes. DuckDB stores them as VARCHAR all the same."""
    wanted = frame.columns if columns is None else set(columns)
    return frame.with_columns(pl.col(c).cast(pl.Categorical) for c in frame.columns
                              if c in wanted and frame.schema[c] == pl.String)


def _parse_cells(cells: pl.DataFrame, column: str) -> pl.DataFrame:
    """`column` plus its value and status (status NULL for text that is not a known symbol).

    Most cells are plain numbers, which one cast parses (a finite number there is one in _symbol_rules too,
    with status ok: it has no comma and no trailing u); only the rest go through the rules' regular
    expressions."""
    number = pl.col(column).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    plain = cells.select(number.is_finite().fill_null(False)).to_series()
    return pl.concat([
        cells.filter(plain).with_columns(number.round_sig_figs(SIGNIFICANT_FIGURES).alias("value"),
                                         pl.lit("ok").alias("value_status")),
        _symbol_rules(cells.filter(~plain), column),
    ])


def _symbol_rules(cells: pl.DataFrame, column: str) -> pl.DataFrame:
    """_parse_cells by the rules: numbers, numbers with thousands separators or a trailing u, and symbols."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    lowered = text.str.to_lowercase()
    # "12u": a low-reliability value that is kept.
    reliability_flagged = lowered.str.contains(r"^[+-]?[0-9.eE+-]+u$")
    numeric_text = (
        pl.when(reliability_flagged).then(text.str.slice(0, text.str.len_chars() - 1))
        .when(text.str.contains(_THOUSANDS)).then(text.str.replace_all(",", ""))
        .otherwise(text)
    )
    parsed = numeric_text.cast(pl.Float64, strict=False)
    symbol = lowered.fill_null("").replace_strict(SYMBOL_STATUS, default=None, return_dtype=pl.String)
    status = (
        pl.when(text.is_null()).then(pl.lit("missing"))
        .when(reliability_flagged & parsed.is_not_null()).then(pl.lit("low_reliability"))
        .when(parsed.is_not_null() & parsed.is_finite()).then(pl.lit("ok"))
        .otherwise(symbol)
    )
    return cells.with_columns(
        pl.when(status.is_in(["ok", "low_reliability"])).then(parsed.round_sig_figs(SIGNIFICANT_FIGURES))
        .otherwise(None).alias("value"),
        status.alias("value_status"),
    )
