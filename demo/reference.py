"""The LA lookup (`reference/la_lookup.csv`) in the layout of DfE's dfeR lookup: dd/mm/yyyy dates, live and
terminated LAs, and its quirks - combined rows for LAs that report jointly ("940 / 941"), a BFPO row with code
`z`, and LAs abolished in 2009 with old code `x`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from demo import formats, geography
from demo.geography import LocalAuthority

COLUMNS = tuple(
    "new_la_code,la_name,date_of_operation,date_of_termination,parent_geography_code,entity_code,"
    "entity_description,status,old_la_code".split(",")
)
ENTITY_DESCRIPTIONS = {
    "E06": "Unitary Authorities",
    "E08": "Metropolitan Districts",
    "E09": "London Boroughs",
    "E10": "Counties",
}
ENTITY_ORDER = ("E09", "E08", "E10", "E06")
# Pairs of LAs that also appear as one combined row, after the second of the pair.
COMBINED = (("314", "318"), ("940", "941"), ("942", "943"))
HISTORIC_ROWS = (
    (
        "E10000001",
        "Bedfordshire",
        "01/01/2009",
        "31/03/2009",
        "E12000006",
        "E10",
        "Counties",
        "terminated",
        "x",
    ),
    ("E10000004", "Cheshire", "01/01/2009", "31/03/2009", "E12000002", "E10", "Counties", "terminated", "x"),
)
BFPO_ROW = ("z", "British Forces Post Office overseas establishments", "", "", "", "", "", "live", "702")


def _dmy(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _row(la: LocalAuthority) -> tuple[str, ...]:
    return (
        la.new_la_code,
        la.la_name,
        _dmy(la.date_of_operation),
        _dmy(la.date_of_termination),
        la.region_code,
        la.entity_code,
        ENTITY_DESCRIPTIONS[la.entity_code],
        "terminated" if la.date_of_termination else "live",
        la.old_la_code,
    )


def write_la_lookup(raw_dir: Path) -> Path:
    """`reference/la_lookup.csv`: every LA in the packaged reference plus the lookup's own odd rows."""
    live = {la.old_la_code: la for la in geography.local_authorities() if la.date_of_termination is None}
    rows: list[tuple[str, ...]] = []
    for entity in ENTITY_ORDER:
        for la in sorted(
            (la for la in geography.local_authorities() if la.entity_code == entity),
            key=lambda la: la.new_la_code,
        ):
            rows.append(_row(la))
            rows += [
                _combined_row(live[first], live[second])
                for first, second in COMBINED
                if live.get(second) == la
            ]
        if entity == "E10":
            rows += HISTORIC_ROWS
    rows.append(BFPO_ROW)
    return formats.write_csv(raw_dir / "reference" / "la_lookup.csv", COLUMNS, rows, bom=False, line_end="\n")


def _combined_row(first: LocalAuthority, second: LocalAuthority) -> tuple[str, ...]:
    """The lookup's joint row for two LAs that publish some figures together."""
    return (
        f"{first.new_la_code} / {second.new_la_code}",
        f"{first.la_name} / {second.la_name}",
        _dmy(second.date_of_operation),
        "",
        second.region_code,
        second.entity_code,
        ENTITY_DESCRIPTIONS[second.entity_code],
        "live",
        f"{first.old_la_code} / {second.old_la_code}",
    )
