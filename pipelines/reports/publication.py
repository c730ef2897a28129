"""Small-number suppression for the published outputs, using pipelines.suppression.

pipelines.suppression treats a row as a rate (suppressed when its numerator or denominator is a
small count) or a count (suppressed when its value is). The reports map the catalogue's units onto
that: a count is a count; a percent, rate or score is built from a numerator and a denominator (an
Attainment 8 score is points / pupils), so it is judged by those, never by its own size (an average
score of 4.5 is not a count of pupils).
"""

from __future__ import annotations

import polars as pl

from pipelines.suppression import SUPPRESSED, SUPPRESSED_SYMBOL, suppress, suppression_threshold

__all__ = ["SUPPRESSED_SYMBOL", "small_number_mask", "suppress_for_publication", "suppression_threshold"]

_UNIT = "__suppression_unit"


def _unit_expr(unit: str) -> pl.Expr:
    return pl.when(pl.col(unit) == "count").then(pl.lit("count")).otherwise(pl.lit("rate")).alias(_UNIT)


def suppress_for_publication(frame: pl.DataFrame, threshold: int, *, value: str = "value",
                             numerator: str | None = "numerator", denominator: str | None = "denominator",
                             status: str = "value_status", unit: str = "unit") -> pl.DataFrame:
    """`frame` with small counts and the ratios built on them blanked and marked 'suppressed'."""
    out = suppress(frame.with_columns(_unit_expr(unit)), threshold=threshold, value=value, status=status,
                   numerator=numerator, denominator=denominator, unit=_UNIT)
    return out.drop(_UNIT)


def small_number_mask(frame: pl.DataFrame, threshold: int, *, value: str = "value",
                      numerator: str | None = "numerator", denominator: str | None = "denominator",
                      unit: str = "unit") -> pl.Series:
    """True for the rows whose figure in `value` would be suppressed for publication."""
    columns = [c for c in (value, numerator, denominator, unit) if c]
    probe = frame.select(columns).with_columns(pl.lit("ok").alias("__status"))
    out = suppress_for_publication(probe, threshold, value=value, numerator=numerator, denominator=denominator,
                                   status="__status", unit=unit)
    return (out["__status"] == SUPPRESSED).alias("is_suppressed")
