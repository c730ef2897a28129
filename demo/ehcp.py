"""The "Education, health and care plans" release (SEN2) as EES publishes it: a zip of tidy CSVs.

Written: `data/timeliness_20_week.csv`, `data/requests.csv`, `data/newplans.csv`, `data/caseload.csv` and
`data-guidance/data-guidance.txt`, with the real files' columns in their order (including the odd
`PC_plans_issued_20_weeks_ex` and `AP_PRU_total_pc`), a UTF-8 BOM and CRLF line ends. Quirks reproduced:
columns the collection did not hold that year are `x` (the person-level collection started in 2023), a few
LA-years without a published timeliness return are all `x`, breakdown rows (age, sex, ethnicity) exist only
for person-level years, and North Yorkshire, Somerset and Buckinghamshire keep their old county codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo import ees, formats, geography
from demo.ees import Breakdown, Count, Percent
from demo.world import TIMELINESS_CELLS, World, rng_for

RELEASE_YEAR = 2025
# The release keeps the county-council codes of these LAs after they became unitary.
COUNTY_CODES = {"815": "E10000023", "933": "E10000027", "825": "E10000002"}
GEOGRAPHY_COLUMNS = tuple(
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "new_la_code,old_la_code,la_name,breakdown_topic,breakdown".split(",")
)

SEX = Breakdown("Sex", ("Female", "Male", "Unknown"), (0.28, 0.715, 0.005))
ETHNICITY = Breakdown(
    "Ethnicity",
    ees.DFE_ETHNICITIES,
    (1.8, 1.9, 1.2, 0.3, 1.4, 3.6, 1.1, 3.4, 1.0, 2.6, 1.2, 0.8, 1.9, 2.5, 4.2, 0.5, 0.3, 0.2, 70.1),
)


def _ages(
    topic: str, prefix: str, ages: range, young: str, old: str, unknown: str | None, peak: float
) -> Breakdown:
    """An age breakdown peaking at `peak`, its values in EES's string order (`age 10` before `age 2 and under`)."""

    def weight(age: float) -> float:
        return float(np.exp(-((age - peak) ** 2) / 40))

    shares = {young: weight(ages.start - 1), old: 2 * weight(ages.stop)}
    shares.update({f"{prefix} {age}": weight(age) for age in ages})
    if unknown:
        shares[unknown] = 0.002
    values = tuple(sorted(shares))
    return Breakdown(topic, values, tuple(shares[value] for value in values))


AGE_AT_REQUEST = _ages(
    "Child or young persons age", prefix="Aged", ages=range(3, 20), young="Aged 2 and under",
    old="Aged 20 and over", unknown="Age unknown", peak=8,
)  # fmt: skip
AGE_AT_ISSUE = _ages(
    "Child or young persons age", prefix="age", ages=range(3, 20), young="age 2 and under",
    old="age 20 and over", unknown="Unknown", peak=8,
)  # fmt: skip
AGE_PLAN_STARTED = _ages(
    "Age when plan started", prefix="age", ages=range(3, 20), young="age 2 and under", old="age 20 and over",
    unknown=None, peak=7,
)  # fmt: skip
AGE_IN_JANUARY = _ages(
    "Child or young persons age", prefix="age", ages=range(3, 25), young="under 3", old="age 25",
    unknown=None, peak=12,
)  # fmt: skip


@dataclass(frozen=True)
class Leaf:
    """A placement of EHC plans: its typical share of the caseload and of new plans, and the years each
    collection held it (first, last; None = open)."""

    name: str
    caseload_share: float
    new_plan_share: float
    caseload_years: tuple[int | None, int | None] = (None, None)
    new_plan_years: tuple[int | None, int | None] = (None, None)

    def years(self, collection: str) -> tuple[int | None, int | None]:
        """The years the collection ("caseload" or "new_plan") held this placement."""
        return self.caseload_years if collection == "caseload" else self.new_plan_years

    def share(self, collection: str, year: int) -> float:
        """The typical share of plans in this placement, 0 in years the collection did not hold it."""
        first, last = self.years(collection)
        held = (first is None or year >= first) and (last is None or year <= last)
        return (self.caseload_share if collection == "caseload" else self.new_plan_share) if held else 0.0


PLACEMENTS = (
    Leaf("mainstream_la_maintained", 0.17, 0.37),
    Leaf("mainstream_la_maintained_resourced_provision", 0.017, 0.012),
    Leaf("mainstream_la_maintained_senunit", 0.01, 0.009),
    Leaf("mainstream_academy", 0.145, 0.25),
    Leaf("mainstream_academy_resourced_provision", 0.014, 0.009),
    Leaf("mainstream_academy_senunit", 0.008, 0.007),
    Leaf("mainstream_free_school", 0.005, 0.01),
    Leaf("mainstream_free_school_resourced_provision", 0.0002, 0.0001),
    Leaf("mainstream_free_school_senunit", 0.0002, 0.0001),
    Leaf("mainstream_independent", 0.01, 0.011),
    Leaf("special_la_maintained", 0.23, 0.1),
    Leaf("special_academy_free", 0.1, 0.05),
    Leaf("special_independent", 0.04, 0.03),
    Leaf("special_non_maintained", 0.011, 0.003),
    Leaf("ap_pru_academy", 0.002, 0.0056),
    Leaf("ap_pru_free_school", 0.0005, 0.0017),
    Leaf("ap_pru_la_maintained", 0.005, 0.0116),
    Leaf("general_fe_tertiary_colleges", 0.14, 0.03),
    Leaf("specialist_post_16_institutions", 0.014, 0.003),
    Leaf("ukrlp_provider", 0.003, 0.002, (2023, None), (2022, None)),
    Leaf("elective_home_education", 0.008, 0.004, (2020, None), (2020, None)),
    Leaf("other_arrangements_la", 0.008, 0.008),
    Leaf("other_arrangements_parents", 0.008, 0.003),
    Leaf("online_provider", 0.002, 0.0, (2025, None), (9999, None)),
    Leaf("w_settings", 0.001, 0.0, (2025, None), (9999, None)),
    Leaf("other_schools", 0.002, 0.0, (2025, None), (9999, None)),
    Leaf("other_placement_settings", 0.005, 0.002),
    Leaf("neet_ntci", 0.006, 0.004, (2023, None), (2022, None)),
    Leaf("neet_other", 0.008, 0.004, (2023, None), (2022, None)),
    Leaf("neet_other_csa", 0.003, 0.002, (2023, None), (2022, None)),
    Leaf("neet_before_split", 0.017, 0.0, (None, 2022), (9999, None)),
    Leaf("nm_early_years", 0.005, 0.035),
    Leaf("placement_unknown", 0.005, 0.01, (2023, None), (2022, None)),
    Leaf("await_prov_2022", 0.01, 0.02, (None, 2022), (None, 2021)),
    Leaf("perm_ex_2022", 0.0002, 0.0007, (None, 2022), (None, 2021)),
)
PLACEMENT_NAMES = tuple(leaf.name for leaf in PLACEMENTS)
MAINSTREAM = PLACEMENT_NAMES[:10]
SPECIAL = PLACEMENT_NAMES[10:14]
AP_PRU = PLACEMENT_NAMES[14:17]
FURTHER_EDUCATION = PLACEMENT_NAMES[17:20]
OTHER_ARRANGEMENTS = PLACEMENT_NAMES[20:27]
NEET = ("neet_ntci", "neet_other", "neet_other_csa", "neet_before_split")
ELSEWHERE = (*OTHER_ARRANGEMENTS[:4], *NEET)


def _placement_columns(total: str, collection: str) -> tuple[Count, ...]:
    """The placement columns of caseload.csv and newplans.csv, `x` where the collection did not hold them."""
    by_name = {leaf.name: leaf for leaf in PLACEMENTS}

    def leaf(name: str) -> Count:
        return Count(name, (name,), *by_name[name].years(collection))

    def share(name: str, parts: tuple[str, ...], like: Count | None = None) -> Percent:
        first, last = (like.first_year, like.last_year) if like else (None, None)
        return Percent(name, parts, first, last, of=PLACEMENT_NAMES)

    # The caseload always shows a NEET total (split three ways from 2023); new plans only from 2022.
    neet_first = by_name["neet_ntci"].years(collection)[0] if collection == "new_plan" else None
    return (
        Count(total, PLACEMENT_NAMES),
        *(leaf(name) for name in MAINSTREAM),
        Count("mainstream_total", MAINSTREAM),
        share("mainstream_total_pc", MAINSTREAM),
        *(leaf(name) for name in SPECIAL),
        Count("special_total", SPECIAL),
        share("special_total_pc", SPECIAL),
        *(leaf(name) for name in AP_PRU),
        Count("ap_pru_total", AP_PRU),
        share("AP_PRU_total_pc", AP_PRU),
        *(leaf(name) for name in FURTHER_EDUCATION),
        Count("fe_total", FURTHER_EDUCATION),
        share("fe_total_pc", FURTHER_EDUCATION),
        *(leaf(name) for name in OTHER_ARRANGEMENTS),
        Count("neet", NEET, neet_first),
        *(leaf(name) for name in NEET[:3]),
        Count("ed_elsewhere", ELSEWHERE),
        share("ed_elsewhere_pc", ELSEWHERE),
        leaf("nm_early_years"),
        share("nm_early_years_pc", ("nm_early_years",)),
        leaf("placement_unknown"),
        share("placement_unknown_pc", ("placement_unknown",), leaf("placement_unknown")),
        leaf("await_prov_2022"),
        leaf("perm_ex_2022"),
    )


TIMELINESS_COLUMNS = (
    Count("plans_issued_den", TIMELINESS_CELLS),
    Count("plans_issued_den_ex", TIMELINESS_CELLS[:3]),
    Count("plans_issued_within_20_weeks", ("within_20", "exception_within_20")),
    Count("plans_issued_20_weeks_ex", ("within_20",)),
    Percent("pc_plans_issued_within_20_weeks", ("within_20", "exception_within_20"), of=TIMELINESS_CELLS),
    Percent("PC_plans_issued_20_weeks_ex", ("within_20",), of=TIMELINESS_CELLS[:3]),
)


def _timeliness_columns(person_level_from: int) -> tuple[Count, ...]:
    later = person_level_from
    return TIMELINESS_COLUMNS + (
        Count("plans_issued_gt20weeks_ltYear", ("weeks_20_52", "exception_weeks_20_52"), later),
        Count("plans_issued_gt20weeks_ltYear_ex", ("weeks_20_52",), later),
        Percent(
            "pc_plans_issued_gt20weeks_ltYear",
            ("weeks_20_52", "exception_weeks_20_52"),
            later,
            of=TIMELINESS_CELLS,
        ),
        Percent("PC_plans_issued_gt20weeks_ltYear_ex", ("weeks_20_52",), later, of=TIMELINESS_CELLS[:3]),
        Count("plans_issued_gt_1_year", ("over_52", "exception_over_52"), later),
        Count("plans_issued_gt_1_year_ex", ("over_52",), later),
        Percent("pc_plans_issued_gt_1_year", ("over_52", "exception_over_52"), later, of=TIMELINESS_CELLS),
        Percent("PC_plans_issued_gt_1_year_ex", ("over_52",), later, of=TIMELINESS_CELLS[:3]),
    )


REQUEST_LEAVES = (
    "assess_6_weeks",
    "assess_late",
    "refuse_6_weeks",
    "refuse_late",
    "not_decided",
    "withdrawn",
    "received_after",
    "mediation",
    "tribunal",
    "tribunal_after_mediation",
)
RECEIVED = REQUEST_LEAVES[:6]
DECIDED = REQUEST_LEAVES[:4]


def _request_columns(later: int) -> tuple[Count, ...]:
    return (
        Count("requests_received_in_year", RECEIVED),
        Count("requests_rya", ("received_after",)),
        Count("requests_decided_to_assess", ("assess_6_weeks", "assess_late"), later),
        Count("requests_decided_not_to_assess", ("refuse_6_weeks", "refuse_late")),
        Count("requests_decision_not_made", ("not_decided",), later),
        Count("requests_withdrawn", ("withdrawn",), later),
        Percent("request_assess_pc", ("assess_6_weeks", "assess_late"), later, of=RECEIVED),
        Percent("request_not_assess_pc", ("refuse_6_weeks", "refuse_late"), later, of=RECEIVED),
        Percent("request_outstanding_pc", ("not_decided",), later, of=RECEIVED),
        Percent("request_withdrawn_pc", ("withdrawn",), later, of=RECEIVED),
        Count("request_outcome_six_weeks", ("assess_6_weeks", "refuse_6_weeks"), later),
        Count("request_outcome_over_6_weeks", ("assess_late", "refuse_late"), later),
        Percent("request_outcome_six_weeks_pc", ("assess_6_weeks", "refuse_6_weeks"), later, of=DECIDED),
        Percent("request_outcome_over_6_weeks_pc", ("assess_late", "refuse_late"), later, of=DECIDED),
        Count("mediation_related_request", ("mediation",), later),
        Count("tribunal_related_request", ("tribunal",), later),
        Count("tribunal_after_mediation_request", ("tribunal_after_mediation",), later),
    )


@dataclass(frozen=True)
class ReleaseFile:
    """One CSV of the release: its periods, filters and columns, and each LA-year's leaf counts."""

    member: str
    time_identifier: str
    all_rows_label: str
    breakdowns: tuple[Breakdown, ...]
    columns: tuple[Count, ...]
    leaf_names: tuple[str, ...]
    leaves: Callable[[str, int], np.ndarray]  # (LA number, year) -> counts aligned with leaf_names
    years: list[int]
    person_level_from: int  # first year with breakdown rows
    hidden: frozenset[tuple[str, int]] = frozenset()  # LA-years published as all `x`


def _period(file: ReleaseFile, year: int) -> str:
    return str(year) if file.time_identifier == "Calendar year" else geography.academic_year(year)


def _reference_day(file: ReleaseFile, year: int) -> dt.date:
    return geography.year_end(year) if file.time_identifier == "Calendar year" else geography.january(year)


def _render(file: ReleaseFile, seed: int) -> bytes:
    """All rows of a release file: per year England, regions and LAs, each with its breakdown rows."""
    rng = rng_for(seed, "ehcp", file.member)
    labels: list[list] = []
    blocks: list[np.ndarray] = []
    years: list[int] = []
    masked: list[int] = []
    for year in file.years:
        places = ees.geographies(_reference_day(file, year))
        breakdowns = file.breakdowns if year >= file.person_level_from else ()
        filters = [(file.all_rows_label, file.all_rows_label)] + [
            (breakdown.topic, value) for breakdown in breakdowns for value in breakdown.values
        ]
        la_blocks = {}
        for place in places:
            if place.la is not None:
                code = place.la.old_la_code
                leaves = (
                    np.zeros(len(file.leaf_names), dtype=np.int64)
                    if (code, year) in file.hidden
                    else file.leaves(code, year)
                )
                la_blocks[code] = np.vstack(
                    [leaves] + [ees.split(leaves, breakdown, rng) for breakdown in breakdowns]
                )
        for place in places:
            if place.la is not None:
                block = la_blocks[place.la.old_la_code]
            else:
                block = sum(
                    rows
                    for code, rows in la_blocks.items()
                    if place.region is None or geography.first_row(code).region_code == place.region.code
                )
            if place.la is not None and (place.la.old_la_code, year) in file.hidden:
                masked += range(len(labels), len(labels) + len(filters))
            geo = [
                _period(file, year),
                file.time_identifier,
                place.level,
                *ees.geography_cells(place, COUNTY_CODES),
            ]
            labels += [[*geo, topic, value] for topic, value in filters]
            years += [year] * len(filters)
            blocks.append(block)
    columns = ees.render_columns(file.columns, file.leaf_names, np.vstack(blocks), years)
    for column in columns:
        for i in masked:
            column[i] = "x"
    header = [*GEOGRAPHY_COLUMNS, *(column.name for column in file.columns)]
    return formats.table_csv_bytes(
        header, [*map(list, zip(*labels, strict=True)), *columns], bom=True, line_end="\r\n"
    )


def _placement_leaves(total: float, year: int, collection: str, rng: np.random.Generator) -> np.ndarray:
    """Split a caseload or new-plan total across the placements the collection held that year."""
    shares = np.array([leaf.share(collection, year) for leaf in PLACEMENTS])
    held = shares > 0
    mix = np.zeros_like(shares)
    mix[held] = rng.dirichlet(shares[held] / shares[held].sum() * 400)
    return rng.multinomial(int(total), mix)


def write_release(world: World, raw_dir: Path, scale: int) -> Path:
    """`national/ehcp/education-health-and-care-plans_2025.zip` with its data files and data guidance."""
    calendar_years = geography.extended_years(2019, 2024, scale)
    january_years = geography.extended_years(2019, 2025, scale)
    person_level = geography.extended_years(2023, 2024, scale)[0]
    new_plan_breakdowns_from = geography.extended_years(2022, 2024, scale)[0]
    caseload_breakdowns_from = geography.extended_years(2024, 2025, scale)[0]
    rng = rng_for(world.seed, "ehcp leaves")

    def timeliness(place: str, year: int) -> np.ndarray:
        return world.timeliness[world.index(place, year)]

    disputes_rng = rng_for(world.seed, "ehcp disputes")

    def requests(place: str, year: int) -> np.ndarray:
        cells = world.requests[world.index(place, year)]
        received = int(cells.sum())
        mediation = disputes_rng.binomial(received, 0.06)
        tribunal = disputes_rng.binomial(received, min(0.5, 0.004 * max(year - 2015, 1)))
        return np.array(
            [*cells, disputes_rng.poisson(0.5), mediation, tribunal, disputes_rng.binomial(mediation, 0.12)]
        )

    def new_plans(place: str, year: int) -> np.ndarray:
        return _placement_leaves(world.timeliness[world.index(place, year)].sum(), year, "new_plan", rng)

    def caseload(place: str, year: int) -> np.ndarray:
        return _placement_leaves(world.value(world.caseload, place, year), year, "caseload", rng)

    files = (
        ReleaseFile(
            member="data/caseload.csv",
            time_identifier="Academic year",
            all_rows_label="All EHC plans",
            breakdowns=(AGE_IN_JANUARY, SEX),
            columns=_placement_columns("ehcplans", "caseload"),
            leaf_names=PLACEMENT_NAMES,
            leaves=caseload,
            years=january_years,
            person_level_from=caseload_breakdowns_from,
        ),
        ReleaseFile(
            member="data/newplans.csv",
            time_identifier="Calendar year",
            all_rows_label="New EHC plans",
            breakdowns=(AGE_PLAN_STARTED, SEX),
            columns=_placement_columns("new_ehc_plans", "new_plan"),
            leaf_names=PLACEMENT_NAMES,
            leaves=new_plans,
            years=calendar_years,
            person_level_from=new_plan_breakdowns_from,
        ),
        ReleaseFile(
            member="data/requests.csv",
            time_identifier="Calendar year",
            all_rows_label="All requests for EHC needs assessments",
            breakdowns=(AGE_AT_REQUEST, SEX),
            columns=_request_columns(person_level),
            leaf_names=REQUEST_LEAVES,
            leaves=requests,
            years=calendar_years,
            person_level_from=person_level,
        ),
        ReleaseFile(
            member="data/timeliness_20_week.csv",
            time_identifier="Calendar year",
            all_rows_label="All EHC plans issued",
            breakdowns=(AGE_AT_ISSUE, ETHNICITY, SEX),
            columns=_timeliness_columns(person_level),
            leaf_names=TIMELINESS_CELLS,
            leaves=timeliness,
            years=calendar_years,
            person_level_from=person_level,
            hidden=frozenset(world.no_return),
        ),
    )
    members = [(file.member, _render(file, world.seed)) for file in files]
    members.append(("data-guidance/data-guidance.txt", _guidance(files)))
    path = raw_dir / "national" / "ehcp" / f"education-health-and-care-plans_{RELEASE_YEAR}.zip"
    return formats.write_zip(path, members)


def _guidance(files: tuple[ReleaseFile, ...]) -> bytes:
    """The release's data guidance: what each file holds and what its variables mean."""
    lines = [
        "Education, health and care plans",
        f"Reporting year {RELEASE_YEAR}",
        "",
        "Description",
        "",
        "Synthetic demonstration data in the layout of the Education, health and care (EHC) plans release\u2019s "
        "underlying data files. Every figure is generated; none describes a real local authority.",
        "",
        "File formats and conventions",
        "",
        "The following convention is used throughout the underlying data.",
        "",
        "z - Not applicable",
        "",
        "x - unavailable",
        "",
        "Data files",
        "",
    ]
    for file in files:
        periods = [_period(file, file.years[0]), _period(file, file.years[-1])]
        lines += [
            f"Filename: {file.member.removeprefix('data/')}",
            "Geographic levels: Local authority; National; Regional",
            f"Time period: {periods[0]} to {periods[1]}",
            "",
            "Variable names and descriptions for this file are provided below:",
            "",
            f"{'Variable name':<45}|  Variable description",
            f"{'-' * 43}  |  {'-' * 40}",
        ]
        lines += [f"{'breakdown':<45}|  Characteristics of the child or young person"]
        lines += [
            f"{column.name:<45}|  {column.name.replace('_', ' ')}"
            for column in sorted(file.columns, key=lambda c: c.name.lower())
        ]
        lines += ["", ""]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
