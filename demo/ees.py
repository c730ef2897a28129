"""Explore Education Statistics (EES) tidy files: geography columns, row order and column arithmetic.

An EES file has one row per period, geography and filter value. Counts for regions and England are sums of
their LAs; percentages are computed from the summed counts and rounded to 1 dp; a column the collection did
not hold that year is `x`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from demo import formats, geography
from demo.geography import LocalAuthority, Region

COUNTRY = ("E92000001", "England")


@dataclass(frozen=True)
class Geography:
    """One EES geography: England, a region or an LA."""

    level: str
    region: Region | None = None
    la: LocalAuthority | None = None


def geographies(day: dt.date) -> list[Geography]:
    """England, then the regions in code order, then the LAs in force on `day` by region and LA number."""
    rows = [Geography("National")]
    rows += [Geography("Regional", region=region) for region in geography.REGIONS]
    rows += [
        Geography("Local authority", region=geography.REGION_BY_CODE[la.region_code], la=la)
        for la in geography.authorities_on(day)
    ]
    return rows


@dataclass(frozen=True)
class Count:
    """A published count: the sum of some leaf counts, shown only in the years the collection held it."""

    name: str
    leaves: tuple[str, ...]
    first_year: int | None = None
    last_year: int | None = None

    def shown(self, year: int) -> bool:
        """Whether the column has values (not `x`) in `year`."""
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )


@dataclass(frozen=True)
class Percent(Count):
    """A published percentage: 100 * sum(leaves) / sum(of), rounded to 1 dp; `x` when the base is zero."""

    of: tuple[str, ...] = ()


def _summed(leaves: np.ndarray, index: dict[str, int], names: tuple[str, ...]) -> np.ndarray:
    return leaves[:, [index[name] for name in names]].sum(axis=1)


def render_columns(
    columns: tuple[Count, ...], leaf_names: tuple[str, ...], leaves: np.ndarray, years: list[int]
) -> list[list[str]]:
    """Each column's cells for rows of leaf counts (rows x leaves), one list per column."""
    index = {name: i for i, name in enumerate(leaf_names)}
    rendered = []
    for column in columns:
        shown_in = {year: column.shown(year) for year in set(years)}
        hidden = [i for i, year in enumerate(years) if not shown_in[year]]
        values = _summed(leaves, index, column.leaves)
        if isinstance(column, Percent):
            cells = [cell or "x" for cell in formats.percents_text(values, _summed(leaves, index, column.of))]
        else:
            cells = formats.counts_text(values)
        for i in hidden:
            cells[i] = "x"
        rendered.append(cells)
    return rendered


def geography_cells(place: Geography, new_code_override: dict[str, str] | None = None) -> list[str | None]:
    """country_code, country_name, region_code, region_name, new_la_code, old_la_code, la_name."""
    region_code = place.region.code if place.region else None
    region_name = place.region.name if place.region else None
    if place.la is None:
        return [*COUNTRY, region_code, region_name, None, None, None]
    new_code = (new_code_override or {}).get(place.la.old_la_code, place.la.new_la_code)
    return [*COUNTRY, region_code, region_name, new_code, place.la.old_la_code, place.la.la_name]


# DfE's ethnicity categories as EES files spell them (the EHC plans release, school census).
DFE_ETHNICITIES = (
    "Any other ethnic group",
    "Asian - Any other Asian background",
    "Asian - Bangladeshi",
    "Asian - Chinese",
    "Asian - Indian",
    "Asian - Pakistani",
    "Black - Any other Black background",
    "Black - Black African",
    "Black - Black Caribbean",
    "Mixed - Any other Mixed background",
    "Mixed - White and Asian",
    "Mixed - White and Black African",
    "Mixed - White and Black Caribbean",
    "Unclassified",
    "White - Any other White background",
    "White - Gypsy/Roma",
    "White - Irish",
    "White - Traveller of Irish heritage",
    "White - White British",
)


@dataclass(frozen=True)
class Breakdown:
    """A filter of an EES file (`breakdown_topic`) and its values, with their shares of the total."""

    topic: str
    values: tuple[str, ...]
    shares: tuple[float, ...]


def split(leaves: np.ndarray, breakdown: Breakdown, rng: np.random.Generator) -> np.ndarray:
    """Split each leaf count of one geography across the breakdown's values (values x leaves)."""
    shares = np.array(breakdown.shares) / sum(breakdown.shares)
    return rng.multinomial(leaves.astype(np.int64), shares).T
