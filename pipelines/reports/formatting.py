"""How a KPI value is written in the reports: 7.8%, 1,234, -0.22; status symbols in words."""

from __future__ import annotations

import math

from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.reports.publication import SUPPRESSED_SYMBOL

# What a published symbol (read into value_status) means to a reader
STATUS_WORDS = {
    "suppressed": f"{SUPPRESSED_SYMBOL} (suppressed)",
    "unavailable": "x (not available)",
    "not_applicable": "z (not applicable)",
    "low": "low (rounds to zero)",
    "missing": "- (missing)",
}

FAMILY_TITLES = {
    "S": "SEN overview",
    "E": "Educational outcomes",
    "P": "Preparing for adulthood",
    "L": "Local Offer",
}

QUARTILE_WORDS = {"A": "best quarter", "B": "second quarter", "C": "third quarter", "D": "bottom quarter"}

POLARITY_WORDS = {"High": "higher is better", "Low": "lower is better", "Context": "context, not rated"}


def kpi_number_format(unit: str | None, decimal_places: int | None) -> str:
    """The Excel number format of a KPI's values (percentages are stored as 7.8, not 0.078)."""
    dp = int(decimal_places or 0)
    digits = "0" if dp == 0 else "0." + "0" * dp
    if unit == "count":
        return "#,##0" if dp == 0 else "#,##" + digits
    if unit == "percent":
        return digits + '"%"'
    return digits


def format_value(value: float | None, unit: str | None, decimal_places: int | None) -> str | None:
    """A KPI value as the scorecard writes it (None for no value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    dp = int(decimal_places or 0)
    text = f"{value:,.{dp}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # "-0.0" reads as a mistake
    return text + ("%" if unit == "percent" else "")


def status_words(value_status: str | None) -> str:
    return STATUS_WORDS.get(value_status or "missing", (value_status or "missing").replace("_", " "))


def source_title(source: str | None) -> str:
    """A raw table name as a reader knows the publication: 'EHC plans release: ...', 'LAIT long data set'."""
    if not source:
        return ""
    spec = SOURCES_BY_TABLE.get(source)
    return spec.title if spec else source.replace("_", " ")
