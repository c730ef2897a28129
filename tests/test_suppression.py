"""Small-number suppression for published outputs."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.errors import SendScorecardError
from pipelines.suppression import THRESHOLD_ENV, display_value, suppress, suppression_threshold


def kpis(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        [dict(zip(("measure", "unit", "numerator", "denominator", "value", "value_status"), r, strict=True))
         for r in rows],
        schema={"measure": pl.String, "unit": pl.String, "numerator": pl.Int64, "denominator": pl.Int64,
                "value": pl.Float64, "value_status": pl.String},
    )


def test_counts_from_1_to_5_are_suppressed_and_0_and_6_are_not(monkeypatch):
    monkeypatch.delenv(THRESHOLD_ENV, raising=False)
    frame = kpis(*[("n", "count", n, None, float(n), "ok") for n in range(8)])
    out = suppress(frame)
    assert out["value"].to_list() == [0.0, None, None, None, None, None, 6.0, 7.0]
    assert out["value_status"].to_list() == ["ok"] + ["suppressed"] * 5 + ["ok", "ok"]
    assert out["numerator"].to_list() == [0, None, None, None, None, None, 6, 7]


def test_rates_built_on_small_counts_are_suppressed():
    frame = kpis(
        ("pct", "percent", 3, 40, 7.5, "ok"),  # small numerator
        ("pct", "percent", 4, 4, 100.0, "ok"),  # small both
        ("pct", "percent", 0, 5, 0.0, "ok"),  # zero numerator, small denominator
        ("pct", "percent", 0, 40, 0.0, "ok"),  # zero of a large denominator: shown
        ("pct", "percent", 30, 40, 75.0, "ok"),
        ("pct", "percent", 0, 0, None, "missing"),  # no denominator: stays missing
    )
    out = suppress(frame)
    assert out["value_status"].to_list() == ["suppressed"] * 3 + ["ok", "ok", "missing"]
    assert out["value"].to_list() == [None, None, None, 0.0, 75.0, None]
    assert out["denominator"].to_list() == [None, None, None, 40, 40, 0]  # cleared so it cannot be recomputed


def test_a_rate_is_not_suppressed_for_being_a_small_percentage():
    out = suppress(kpis(("pct", "percent", 12, 400, 3.0, "ok")))
    assert out["value"].to_list() == [3.0] and out["value_status"].to_list() == ["ok"]


def test_threshold_from_argument_and_environment(monkeypatch):
    frame = kpis(("n", "count", 8, None, 8.0, "ok"), ("n", "count", 11, None, 11.0, "ok"))
    assert suppress(frame, threshold=10)["value"].to_list() == [None, 11.0]
    monkeypatch.setenv(THRESHOLD_ENV, "2")
    assert suppression_threshold() == 2
    assert suppress(kpis(("n", "count", 3, None, 3.0, "ok")))["value"].to_list() == [3.0]
    monkeypatch.setenv(THRESHOLD_ENV, "five")
    with pytest.raises(SendScorecardError, match="SEND_SUPPRESSION_THRESHOLD must be a whole number"):
        suppression_threshold()
    monkeypatch.setenv(THRESHOLD_ENV, "-1")
    with pytest.raises(SendScorecardError, match="must not be negative"):
        suppression_threshold()
    monkeypatch.setenv(THRESHOLD_ENV, "")
    assert suppression_threshold() == 5


def test_already_suppressed_stays_suppressed_and_other_statuses_are_kept():
    frame = kpis(("n", "count", None, None, None, "suppressed"), ("n", "count", None, None, None, "unavailable"),
                 ("n", "count", 50, None, 50.0, "low_reliability"))
    assert suppress(frame)["value_status"].to_list() == ["suppressed", "unavailable", "low_reliability"]


def test_frames_without_unit_or_status_columns():
    counts = pl.DataFrame({"value": [2.0, 9.0]})
    out = suppress(counts)
    assert out["value"].to_list() == [None, 9.0] and out["value_status"].to_list() == ["suppressed", "ok"]
    rates = pl.DataFrame({"numerator": [2, 20], "denominator": [50, 50], "value": [4.0, 40.0]})
    assert suppress(rates, unit=None)["value"].to_list() == [None, 40.0]


def test_published_cells_show_c():
    out = suppress(kpis(("n", "count", 3, None, 3.0, "ok"), ("pct", "percent", 30, 40, 75.25, "ok"),
                        ("n", "count", 12, None, 12.0, "ok"), ("pct", "percent", 0, 0, None, "missing")))
    assert out.select(display_value())["value"].to_list() == ["c", "75.3", "12", None]
