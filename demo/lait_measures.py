"""The SEND measures the demo LAIT file carries: how each value is made from the world, which years LAIT
spells, how it is rounded and published, and what its data-dictionary row says.

Years, polarity, decimal places and year types follow LAIT's own dictionary; the descriptions are short
paraphrases of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from demo import formats, geography
from demo.world import TINY_PLACES, World

Compute = Callable[[World, list[str], int], float | None]
LINE = "\r\r\n"  # how LAIT's dictionary (written on Windows from Windows text) breaks lines inside a field
EHCP_RELEASE = (
    "https://explore-education-statistics.service.gov.uk/find-statistics/education-health-and-care-plans"
)
SEN_RELEASE = "https://www.gov.uk/government/collections/statistics-special-educational-needs-sen"
KS2_RELEASE = "https://explore-education-statistics.service.gov.uk/find-statistics/key-stage-2-attainment"
KS4_RELEASE = "https://www.gov.uk/government/collections/statistics-gcses-key-stage-4"
SEN2_NOTE = (
    "Note: The SEN2 return is mandatory for all local authorities. Up to and including the 2022 publication, "
    "data was collected at local authority aggregate level. From 2023 a person level collection was introduced."
)


def _rate(numerator: str, denominator: str) -> Compute:
    """Percentage of two world series, pooled over the given places."""

    def value(world: World, places: list[str], year: int) -> float | None:
        top = world.total(getattr(world, numerator), places, year)
        bottom = world.total(getattr(world, denominator), places, year)
        return formats.percent(float(top), float(bottom))

    return value


def _within_20_weeks(excluding_exceptions: bool) -> Compute:
    """New plans issued within 20 weeks as a % of plans issued, pooled over places with a return."""

    def value(world: World, places: list[str], year: int) -> float | None:
        reporting = [p for p in places if (p, year) not in world.no_return]
        if not reporting:
            return None
        cells = world.total(world.timeliness, reporting, year)
        if excluding_exceptions:
            return formats.percent(cells[0], cells[:3].sum())
        return formats.percent(cells[0] + cells[3], cells.sum())

    return value


def _requests(world: World, places: list[str], year: int) -> float:
    return float(world.total(world.requests, places, year).sum())


def _caseload(world: World, places: list[str], year: int) -> float:
    return float(world.total(world.caseload, places, year))


def _appeal_rate(world: World, places: list[str], year: int) -> float | None:
    appeals = float(world.total(world.appeals, places, year))
    decisions = float(world.total(world.appealable_decisions, places, year))
    return None if decisions == 0 else 100 * appeals / decisions


def _outcome(measure: str, weight: str) -> Compute:
    """An outcome measure; for several places the mean weighted by the relevant pupil group."""

    def value(world: World, places: list[str], year: int) -> float | None:
        pairs = [
            (world.outcome(measure, p, year), world.value(getattr(world, weight), p, year))
            for p in places
            if p not in TINY_PLACES
        ]
        pairs = [(v, w) for v, w in pairs if v is not None]
        if not pairs:
            return None
        return float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))

    return value


@dataclass(frozen=True)
class DictionaryEntry:
    """A measure's row in `lait_data_dictionary.csv` (None is the dictionary's bare NA)."""

    measure_code: str | None
    measure: str
    chart_title: str
    polarity: str | None
    y_axis_name: str
    state_funded_flag: str | None
    table_status: str | None
    description: str
    methodology: str
    hyperlink: str
    dps: int | None
    year_type: str
    last_update: str = "45809"
    next_update: str = "46174"
    no_quartile: str | None = None


@dataclass(frozen=True)
class LaitMeasure:
    """A LAIT indicator: how its values are made and published."""

    short: str
    first_year: int
    last_year: int
    reference_day: Callable[[int], dt.date]  # which LAs exist for a year's figure
    compute: Compute
    dps: int  # as published for LAs (and England, unless aggregate_dps says otherwise)
    aggregate_dps: int | None  # England and regions; None: regions unrounded (LAIT's own ratios)
    sub_regions: bool  # whether Inner/Outer London (987/988) are published
    outcome: bool  # suppressed for the two tiny LAs
    data_item: str | None  # label on the oldest year's rows
    entry: DictionaryEntry


def _ks2(group: str) -> DictionaryEntry:
    ehcp = group == "EHCP"
    return DictionaryEntry(
        measure_code="359",
        measure=f"KS2 Attainment of {'Statemented/EHCP' if ehcp else 'SEN Non Statemented/EHCP'} Children - RWM",
        chart_title="Children meeting expected KS2 standard in Reading, Writing and Maths - "
        + ("EHCPs (%)" if ehcp else "SEN Support (%)"),
        polarity="High",
        y_axis_name="% achieving expected level",
        state_funded_flag="State Funded",
        table_status="ks2_regional_local_authority_and_pupil_characteristics",
        description=f"Pupils achieving the expected standard in Reading, Writing and Maths split by SEN group (%)"
        f"{LINE}{LINE}Assessments were cancelled in 2020 and 2021 due to the coronavirus (COVID19) pandemic.",
        methodology=f"The percentage of pupils with {'an EHC plan' if ehcp else 'SEN support'} meeting the "
        "expected standard in reading, writing and maths.",
        hyperlink=KS2_RELEASE,
        dps=None,
        year_type="Academic Year",
        last_update="45992",
        next_update="46266",
    )


def _ks4(score: str, group: str) -> DictionaryEntry:
    ehcp = group == "EHCP"
    who = "SEN Statement/EHCP" if ehcp else "SEN Support"
    progress = score == "Progress 8"
    return DictionaryEntry(
        measure_code="361",
        measure=f"{score} score - pupils with {who}",
        chart_title=f"Average {score} score per pupil at end of Key Stage 4 for pupils with {who}",
        polarity="High",
        y_axis_name="Score per pupil",
        state_funded_flag="State Funded",
        table_status="yyyy_la_char_data_****",
        description="GCSE results of pupils at the end of Key stage 4 (KS4) attending state-funded schools in "
        f"England by pupil characteristic.{LINE}{LINE}"
        + (
            "Progress measures will not be published for the 2024/25 and 2025/26 academic years."
            if progress
            else ""
        ),
        methodology="Progress 8 (none during COVID) captures the progress a pupil makes from the end of Key "
        "Stage 2 to the end of KS4."
        if progress
        else "Attainment 8 measures the average achievement of pupils in up to 8 qualifications.",
        hyperlink=KS4_RELEASE,
        dps=2 if progress else None,
        year_type="Academic Year",
        last_update="45689" if progress else "46054",
        next_update="46661" if progress else "46296",
    )


def _timeliness(excluding: bool) -> DictionaryEntry:
    which = "excluding exception cases" if excluding else "including exceptions"
    return DictionaryEntry(
        measure_code=None,
        measure="New EHC plans issued within 20 weeks - "
        + ("excluding exceptions" if excluding else "including exceptions (all)"),
        chart_title="New EHC plans issued within 20 weeks - excluding exception cases (%)"
        if excluding
        else "All new  EHC plans issued within 20 weeks (%)",
        polarity="High",
        y_axis_name="% of EHC plans",
        state_funded_flag=None,
        table_status="sens_mi",
        description="Education, Health and Care (EHC) plans for children and young people aged up to 25 were "
        f"introduced on 1 September 2014.{LINE}{LINE}{SEN2_NOTE}",
        methodology=f"Percentage of EHC plans issued within 20 weeks, {which}, as a proportion of all such plans "
        f"issued in the year.{LINE}(x/y)*100{LINE}Where:{LINE}x = EHC plans issued within 20 weeks, {which}"
        f"{LINE}y = All EHC Plans issued, {which}",
        hyperlink=EHCP_RELEASE,
        dps=None,
        year_type="Calendar Year",
    )


def _school_outcome(
    short: str, last_year: int, measure: str, group: str, dps: int, data_item: str
) -> LaitMeasure:
    """A KS2 or KS4 outcome of pupils with an EHC plan (`group` "EHCP") or SEN support: published from 2016
    as at the summer, for Inner and Outer London too, suppressed for the two tiny LAs, and pooled over
    places weighted by the group's pupils."""
    if measure.startswith("ks2"):
        entry = _ks2(group)
    else:
        entry = _ks4("Progress 8" if measure.startswith("progress8") else "Attainment 8", group)
    return LaitMeasure(
        short=short,
        first_year=2016,
        last_year=last_year,
        reference_day=geography.summer,
        compute=_outcome(measure, "ehcp_pupils" if group == "EHCP" else "support_pupils"),
        dps=dps,
        aggregate_dps=dps,
        sub_regions=True,
        outcome=True,
        data_item=data_item,
        entry=entry,
    )


# short, last year, world outcome, group, decimal places, label on the oldest year's rows
# fmt: off
_SCHOOL_OUTCOMES: tuple[tuple[str, int, str, str, int, str], ...] = (
    ("NEW_KS2_RWM_Sen_Withsta", 2025, "ks2_rwm_ehcp", "EHCP", 0,
     "KS2 attainment in RWM for SEN pupils with a statement"),
    ("NEW_KS2_RWM_Sen_W/Osta", 2025, "ks2_rwm_support", "SEN support", 0,
     "KS2 attainment in RWM for pupils with  SEN Support"),
    ("SEN_Stat_AVG_Attain8_Score", 2025, "attainment8_ehcp", "EHCP", 1,
     "Average Attainment 8 score per pupil at end of Key Stage 4 - Pupils With SEN Statement"),
    ("SEN_WoStat_AVG_Attain8_Score", 2025, "attainment8_support", "SEN support", 1,
     "Average Attainment 8 score per pupil at end of Key Stage 4 - Pupils Without SEN Statement"),
    ("SEN_Stat_AVG_Prog8_Score", 2024, "progress8_ehcp", "EHCP", 2,
     "Average Progress 8 score per pupil at end of Key Stage 4 - Pupils With SEN Statement"),
    ("SEN_WoStat_AVG_Prog8_Score", 2024, "progress8_support", "SEN support", 2,
     "Average Progress 8 score per pupil at end of Key Stage 4 - Pupils Without SEN Statement"),
)
# fmt: on


MEASURES: tuple[LaitMeasure, ...] = (
    LaitMeasure(
        short="SEN_TotStat",
        first_year=2016,
        last_year=2025,
        reference_day=geography.january,
        compute=_rate("ehcp_pupils", "pupils"),
        dps=1,
        aggregate_dps=1,
        sub_regions=False,
        outcome=False,
        data_item="TOTAL % OF PUPILS WITH STATEMENTS OF (SEN) OR  (EHC) PLANS",
        entry=DictionaryEntry(
            measure_code="230",
            measure="% of Pupils with Statement of (SEN) of (EHC) Plans (All Schools)",
            chart_title="Total pupils who have an EHC Plan (%)",
            polarity=None,
            y_axis_name="% Total pupils with statement/EHC",
            state_funded_flag=None,
            table_status="sen_phase_type",
            description="State-funded primary, secondary and all schools: Percentage of pupils with statement "
            "of special educational needs  (SEN) or EHC Plan",
            methodology="Percentage of pupils with an EHC plan, based on where the pupil attends school in "
            f"January.{LINE}x = total pupils{LINE}y = total pupils with statement or EHC plan"
            f"{LINE}Calculation : (y/x)*100",
            hyperlink=SEN_RELEASE,
            dps=None,
            year_type="Academic Year",
        ),
    ),
    LaitMeasure(
        short="SEN_TotSENSuP",
        first_year=2016,
        last_year=2025,
        reference_day=geography.january,
        compute=_rate("support_pupils", "pupils"),
        dps=1,
        aggregate_dps=1,
        sub_regions=False,
        outcome=False,
        data_item="TOTAL % OF PUPILS WITH SPECIAL EDUCATIONAL NEEDS (SEN) SUPPORT",
        entry=DictionaryEntry(
            measure_code="231",
            measure="% of Pupils with Special Educational Needs (SEN) Support (All Schools)",
            chart_title="Total pupils with Special Educational Needs (SEN) Support (%)",
            polarity=None,
            y_axis_name="% all pupils with SEN Support",
            state_funded_flag=None,
            table_status="sen_phase_type",
            description="State-funded primary, secondary and all schools: Percentage of SEN pupils without "
            "statement of special educational needs or EHC Plan (from 2015 known as pupils with SEN Support)",
            methodology="Percentage of pupils with SEN support but without an EHC plan, based on where the pupil "
            f"attends school in January.{LINE}x = total pupils{LINE}y = total pupils with SEN support"
            f"{LINE}Calculation : (y/x)*100",
            hyperlink=SEN_RELEASE,
            dps=None,
            year_type="Academic Year",
        ),
    ),
    LaitMeasure(
        short="SEN_EHC_All_20wks",
        first_year=2016,
        last_year=2024,
        reference_day=geography.year_end,
        compute=_within_20_weeks(excluding_exceptions=False),
        dps=1,
        aggregate_dps=1,
        sub_regions=False,
        outcome=False,
        data_item="Proportion of all new  EHC plans issued within 20 weeks",
        entry=_timeliness(excluding=False),
    ),
    LaitMeasure(
        short="SEN_EHC_Excpt_20wks",
        first_year=2016,
        last_year=2024,
        reference_day=geography.year_end,
        compute=_within_20_weeks(excluding_exceptions=True),
        dps=1,
        aggregate_dps=1,
        sub_regions=False,
        outcome=False,
        data_item="Proportion of new EHC plans issued within 20 weeks - excluding exception cases",
        entry=_timeliness(excluding=True),
    ),
    *(_school_outcome(*row) for row in _SCHOOL_OUTCOMES),
    LaitMeasure(
        short="16-17YroldSEN_ET",
        first_year=2018,
        last_year=2025,
        reference_day=geography.march_end,
        compute=_outcome("send_in_education_16_17", "ehcp_pupils"),
        dps=2,
        aggregate_dps=1,
        sub_regions=False,
        outcome=True,
        data_item=None,
        entry=DictionaryEntry(
            measure_code="310",
            measure="16-17 yr olds with SEN in education & training",
            chart_title="16-17 yr olds with SEN in education & training, as at 31 March (%)",
            polarity="High",
            y_axis_name="% 16-17 SEN in Ed & Training",
            state_funded_flag=None,
            table_status="ud_participation_characteristic",
            description="Local authorities have a responsibility to track young people's participation in "
            "education or training.",
            methodology="For this collection a young person has SEND if they had a statement or EHC plan, or a "
            f"learning difficulty assessment.{LINE}{LINE}Figures should not be used as a proxy for official "
            "participation statistics.",
            hyperlink="https://www.gov.uk/government/publications/neet-and-participation-local-authority-figures",
            dps=2,
            year_type="Financial Year",
            last_update="45839",
            next_update="46204",
        ),
    ),
    LaitMeasure(
        short="SusEdOverall_SEN_Stat_incSpec",
        first_year=2017,
        last_year=2023,
        reference_day=geography.summer,
        compute=_outcome("ehcp_sustained_destination", "ehcp_pupils"),
        dps=1,
        aggregate_dps=1,
        sub_regions=True,
        outcome=True,
        data_item=None,
        entry=DictionaryEntry(
            measure_code="292",
            measure="% KS4 SEN Pupils With EHCP going to, or remaining in education & employment/training "
            "overall (inc special schools)",
            chart_title="KS4 SEN pupils With EHCP going to, or remaining in education & employment/training "
            "overall (inc special schools) (%)",
            polarity="High",
            y_axis_name="% KS4 With EHCP in EET",
            state_funded_flag="State Funded",
            table_status="ks4_dm_ud_yyyyyy_la",
            description="This measure reports on all SEN young people in Key Stage 4 (KS4) in a particular "
            f"academic year and their destinations in the following year.{LINE}{LINE}",
            methodology="The headline destination measures identify the percentages of students that stayed in "
            "education, an apprenticeship or employment for at least two terms.",
            hyperlink="https://explore-education-statistics.service.gov.uk/find-statistics/key-stage-4-destination-measures",
            dps=None,
            year_type="Academic Year",
            last_update="46082",
            next_update="46296",
        ),
    ),
    LaitMeasure(
        short="SEN_AppealableDec",
        first_year=2016,
        last_year=2024,
        reference_day=geography.year_end,
        compute=_appeal_rate,
        dps=1,
        aggregate_dps=None,
        sub_regions=True,
        outcome=False,
        data_item="Appeal (Percent) rate to the SEND Tribunal based on total appealable decisions",
        entry=DictionaryEntry(
            measure_code="388",
            measure="Appeal rate to the SEND Tribunal based on total appealable decisions",
            chart_title="SEND Tribunal appeals rate based on total appealable decisions (%)",
            polarity="Low",
            y_axis_name="% of appeals",
            state_funded_flag=None,
            table_status="None standard - manual process",
            description="The First-tier Special Educational Needs and Disability (SEND) jurisdiction hears "
            "appeals against decisions of local authorities in England regarding special educational needs.",
            methodology="Total Appealable Decisions is calculated from the annual SEN2 return as the sum of:"
            f"{LINE}- initial requests for EHC assessments refused{LINE}- assessments completed and a decision "
            f"made not to issue an EHC plan{LINE}- the number with an EHC plan as at January{LINE}- EHC plans "
            "ceased because needs are being met without one",
            hyperlink=EHCP_RELEASE,
            dps=2,
            year_type="Calendar Year",
            last_update="45444",
        ),
    ),
    LaitMeasure(
        short="SEN_INIT_REQ",
        first_year=2019,
        last_year=2024,
        reference_day=geography.year_end,
        compute=_requests,
        dps=0,
        aggregate_dps=0,
        sub_regions=False,
        outcome=False,
        data_item=None,
        entry=DictionaryEntry(
            measure_code=None,
            measure="Number of initial requests",
            chart_title="Initial requests (num)",
            polarity="-",
            y_axis_name="Number of requests",
            state_funded_flag=None,
            table_status=None,
            description="A parent, young person, or a school can ask their local authority to carry out an "
            "assessment if they think a child or young person needs an EHC plan.  This measure provides the "
            "number of initial requests for assessment during the calendar year.",
            methodology="Number of initial requests for assessment for an EHC plan",
            hyperlink=EHCP_RELEASE,
            dps=None,
            year_type="Calendar Year",
            last_update="New Data",
        ),
    ),
    LaitMeasure(
        short="SEN_CASES_JAN",
        first_year=2019,
        last_year=2025,
        reference_day=geography.january,
        compute=_caseload,
        dps=0,
        aggregate_dps=0,
        sub_regions=False,
        outcome=False,
        data_item=None,
        entry=DictionaryEntry(
            measure_code=None,
            measure="Total number of cases (as at January)",
            chart_title="Total number of cases (as at January)",
            polarity="-",
            y_axis_name="Total cases",
            state_funded_flag=None,
            table_status=None,
            description="The number of EHC plans active at January each year",
            methodology="The number of EHC plans active at January each year",
            hyperlink=EHCP_RELEASE,
            dps=None,
            year_type="Annual - January",
            last_update="New Data",
            no_quartile="N",
        ),
    ),
)
