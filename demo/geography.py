"""English local authorities and regions as the demo data knows them.

`pipelines/reference/english_las.csv` was derived once from DfE's LA lookup (dfeR `la_lookup.csv`) and LAIT's
LA code list: every LA live in 2024 plus those abolished since 2016 (Cumbria, Northamptonshire, the pre-2019
Dorset councils and the county-council rows of Buckinghamshire, North Yorkshire and Somerset, which kept
their 3-digit numbers as unitary authorities). It ships with the package, so the generator needs nothing
outside the project.

A "place" is an old (3-digit) LA number, LAIT's key: the same place can have two codes over time.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

# Before this date every file uses the LA set in force at its start (years added for benchmark volume).
EARLIEST_CONFIGURATION = dt.date(2016, 1, 15)

ENGLAND_NUMBER = 970
INNER_LONDON_NUMBER = 987
OUTER_LONDON_NUMBER = 988

# Predecessor places and the share of each successor's size they covered.
PREDECESSOR_SHARES: dict[str, dict[str, float]] = {
    "909": {"942": 1.0, "943": 1.0},  # Cumbria -> Cumberland, Westmorland and Furness (April 2023)
    "928": {"940": 1.0, "941": 1.0},  # Northamptonshire -> North and West Northamptonshire (April 2021)
    "835": {"838": 0.9},  # Dorset county -> Dorset unitary (April 2019)
    "836": {"839": 0.45},  # Poole -> Bournemouth, Christchurch and Poole (April 2019)
    "837": {"839": 0.55},  # Bournemouth -> Bournemouth, Christchurch and Poole (April 2019)
}


@dataclass(frozen=True)
class Region:
    """A government office region, with its numbers and spellings in LAIT and the SN workbooks."""

    code: str
    name: str
    lait_number: int
    lait_name: str
    go_index: int


REGIONS: tuple[Region, ...] = (
    Region("E12000001", "North East", 980, "North East", 4),
    Region("E12000002", "North West", 981, "North West", 5),
    Region("E12000003", "Yorkshire and The Humber", 982, "Yorkshire and the Humber", 9),
    Region("E12000004", "East Midlands", 983, "East Midlands", 1),
    Region("E12000005", "West Midlands", 984, "West Midlands", 8),
    Region("E12000006", "East of England", 985, "East of England", 2),
    Region("E12000007", "London", 986, "London", 3),
    Region("E12000008", "South East", 989, "South East", 6),
    Region("E12000009", "South West", 990, "South West", 7),
)
REGION_BY_CODE = {region.code: region for region in REGIONS}


@dataclass(frozen=True)
class LocalAuthority:
    """One row of the LA reference: an LA under one code for the dates it operated."""

    new_la_code: str
    old_la_code: str
    la_name: str
    region_code: str
    region_name: str
    lait_region: str
    entity_code: str
    date_of_operation: dt.date
    date_of_termination: dt.date | None

    def in_force_on(self, day: dt.date) -> bool:
        """Whether the LA operated under this code on `day` (early benchmark years use the 2016 set)."""
        day = max(day, EARLIEST_CONFIGURATION)
        ended = self.date_of_termination is not None and self.date_of_termination < day
        return self.date_of_operation <= day and not ended

    @property
    def number(self) -> int:
        """The 3-digit LA number as an integer (LAIT's `LA Number`)."""
        return int(self.old_la_code)


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


@cache
def local_authorities() -> tuple[LocalAuthority, ...]:
    """Every row of the packaged LA reference, in old-code order."""
    text = files("pipelines").joinpath("reference", "english_las.csv").read_text(encoding="utf-8")
    return tuple(
        LocalAuthority(
            new_la_code=row["new_la_code"],
            old_la_code=row["old_la_code"],
            la_name=row["la_name"],
            region_code=row["region_code"],
            region_name=row["region_name"],
            lait_region=row["lait_region"],
            entity_code=row["entity_code"],
            date_of_operation=_date(row["date_of_operation"]),
            date_of_termination=_date(row["date_of_termination"]),
        )
        for row in csv.DictReader(text.splitlines())
    )


@cache
def places() -> tuple[str, ...]:
    """Every old LA number in the reference (LAIT's 158 LAs), ascending."""
    return tuple(sorted({la.old_la_code for la in local_authorities()}, key=int))


@cache
def first_row(place: str) -> LocalAuthority:
    """The earliest reference row of a place (its county-council row where it later became unitary)."""
    return min(
        (la for la in local_authorities() if la.old_la_code == place), key=lambda la: la.date_of_operation
    )


@cache
def latest_row(place: str) -> LocalAuthority:
    """The most recent reference row of a place."""
    return max(
        (la for la in local_authorities() if la.old_la_code == place), key=lambda la: la.date_of_operation
    )


def authorities_on(day: dt.date) -> list[LocalAuthority]:
    """LAs in force on `day`, in the EES order: by region code, then by old LA number."""
    live = [la for la in local_authorities() if la.in_force_on(day)]
    return sorted(live, key=lambda la: (la.region_code, la.number))


@cache
def places_in_force(day: dt.date) -> frozenset[str]:
    """The places (old LA numbers) that existed as LAs on `day`."""
    return frozenset(la.old_la_code for la in local_authorities() if la.in_force_on(day))


def in_force(place: str, day: dt.date) -> bool:
    """Whether the place existed as an LA on `day`."""
    return place in places_in_force(day)


def january(year: int) -> dt.date:
    """The January census day of a year (school census, SEN2 caseload, NEET Dec-Feb average)."""
    return dt.date(year, 1, 15)


def year_end(year: int) -> dt.date:
    """The last day of a calendar year (SEN2 requests and new plans)."""
    return dt.date(year, 12, 31)


def summer(year: int) -> dt.date:
    """The exam season of the academic year ending in `year` (KS2, KS4, destinations, exclusions)."""
    return dt.date(year, 7, 1)


def march_end(year: int) -> dt.date:
    """31 March of a year (the 16-17 participation snapshot)."""
    return dt.date(year, 3, 31)


def academic_year(ending: int) -> str:
    """EES spelling of the academic year ending in `ending`: 2024 -> `202324`."""
    return f"{ending - 1}{ending % 100:02d}"


def extended_years(first: int, last: int, scale: int) -> list[int]:
    """The published years, extended backwards so `scale` multiplies the span (scale 1: as published)."""
    span = last - first + 1
    return list(range(first - (scale - 1) * span, last + 1))
