"""Synthetic local monthly extracts for the demo LA: case-level, messy and personal-looking.

Writes into `<raw_dir>/local/` what an LA's systems export (docs/local-extracts.md):
- `ehcp_casework_<extract date>.csv`: every request for an EHC needs assessment since ten years before
  the extract (about 10,000 x scale rows), with names, UPNs, dates of birth, free-text exception reasons,
  dates in three formats (dd/mm/yyyy, yyyy-mm-dd, Excel serial numbers) mixed cell by cell, spellings
  of outcomes and placements that vary row by row, and a few rows exported twice;
- `exclusions_log_<academic year>.csv`: suspensions and permanent exclusions since September 2017
  (about 50,000 x scale rows);
- `local_offer_visits_<month>.csv`: a GA4-style export per month (comment lines above the header,
  yyyymmdd dates; every fifth month a Matomo-style export with other headings and 1,234-style numbers),
  about 500,000 x scale rows in all;
- `training_records_<month>.xlsx`: SEND training completions with a title row above the header;
- `nccis_post16_<month>.csv` (the first month as .xlsx with a Month column): the post-16 caseload, NCCIS
  numeric activity codes mixed with words.

Every value is synthetic and deterministic by seed. The storyline follows the national demo's: the demo
LA's 20-week timeliness collapses through 2023-24, then recovers during 2025.
The default set loads cleanly; `write_bad_local_extracts` writes the deliberately broken fixtures.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import zlib
from pathlib import Path

import numpy as np
import polars as pl
from openpyxl import Workbook

from demo.formats import save_workbook
from pipelines.ingest.la_reference import bundled_la_reference
from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV

log = logging.getLogger(__name__)

DEMO_EXTRACT_DATE = dt.date(2025, 6, 30)
# Public by design: it only ever pseudonymises synthetic demo data. Never use it for real extracts.
DEMO_PSEUDONYM_KEY = "send-scorecard-demo-key-synthetic-data-only"
EXCEL_EPOCH = dt.date(1899, 12, 30)
CASEWORK_ROWS, EXCLUSION_ROWS, WEB_ROWS = 10_000, 50_000, 500_000
TRAINING_ROWS, POST16_COHORT = 3_000, 1_500
EXCLUSIONS_FROM = dt.date(2017, 9, 1)

FORENAMES = (
    "Oliver",
    "Amelia",
    "Noah",
    "Isla",
    "Harry",
    "Ava",
    "Jack",
    "Mia",
    "George",
    "Sophia",
    "Leo",
    "Freya",
    "Arthur",
    "Evie",
    "Oscar",
    "Poppy",
    "Theo",
    "Isabella",
    "Archie",
    "Ella",
    "Alfie",
    "Florence",
    "Henry",
    "Willow",
    "Charlie",
    "Phoebe",
    "Finley",
    "Matilda",
    "Tommy",
    "Esme",
    "Reuben",
    "Imogen",
    "Kian",
    "Aisha",
    "Mohammed",
    "Zara",
    "Ibrahim",
    "Maryam",
    "Yusuf",
    "Hafsa",
    "Kacper",
    "Zuzanna",
    "Dylan",
    "Niamh",
    "Callum",
    "Siobhan",
    "Rhys",
    "Bethan",
    "Jayden",
    "Kayla",
    "Tyler",
    "Courtney",
    "Declan",
    "Roisin",
    "Nathaniel",
)
SURNAMES = (
    "Ashworth",
    "Barlow",
    "Brennan",
    "Chadwick",
    "Cropper",
    "Dewhurst",
    "Entwistle",
    "Fairclough",
    "Greenhalgh",
    "Hargreaves",
    "Holt",
    "Kenyon",
    "Lomax",
    "Mottram",
    "Nuttall",
    "Ogden",
    "Pilling",
    "Ramsbottom",
    "Schofield",
    "Tattersall",
    "Unsworth",
    "Whittaker",
    "Worsley",
    "Yates",
    "Akhtar",
    "Begum",
    "Chowdhury",
    "Hussain",
    "Kowalski",
    "Nowak",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Papadopoulos",
    "Rossi",
    "Sullivan",
    "Gallagher",
    "Donnelly",
    "Kaczmarek",
    "Iqbal",
    "Rahman",
    "Siddiqui",
    "Thornley",
    "Fitton",
    "Duckworth",
)
PLACES = (
    "Bramhall",
    "Cheadle",
    "Marple",
    "Hazel Grove",
    "Reddish",
    "Heaton Moor",
    "Romiley",
    "Bredbury",
    "Offerton",
    "Edgeley",
    "Woodford",
    "Heald Green",
    "Davenport",
    "Brinnington",
    "Adswood",
    "Cheadle Hulme",
    "Great Moor",
    "Heaton Mersey",
    "High Lane",
    "Woodley",
)
EXCEPTION_REASONS = (
    "Family holiday during August, parent asked to delay",
    "Child unwell, unable to attend assessment",
    "Parent requested meeting be rescheduled",
    "Child out of the area for more than 4 weeks",
    "Exceptional personal circumstances of the family",
    "School closed over summer - advice not available",
)
COURSES = (
    "SEND Code of Practice: an introduction",
    "Autism awareness",
    "ADHD awareness",
    "Writing outcomes for EHC plans",
    "Preparing for Adulthood",
    "Graduated approach and SEN support",
    "Mental Capacity Act for 16-25s",
    "Annual reviews: person-centred practice",
    "Using the Local Offer",
    "Speech, language and communication needs",
    "Social, emotional and mental health needs",
    "Sensory processing awareness",
)
TEAMS = (
    "SEND Team",
    "Education Psychology",
    "Children's Social Care",
    "Health Visiting",
    "Schools",
    "Early Years",
    "Post-16 Team",
    "Short Breaks",
)
WEB_SECTIONS = (
    "education",
    "health",
    "social-care",
    "preparing-for-adulthood",
    "short-breaks",
    "transport",
    "money-and-benefits",
    "activities",
    "support-groups",
    "ehc-plans",
    "sen-support",
    "early-years",
)
WEB_TOPICS = (
    "autism-support",
    "speech-and-language",
    "occupational-therapy",
    "sensory-play",
    "holiday-club",
    "parent-forum",
    "travel-training",
    "personal-budgets",
    "direct-payments",
    "respite",
    "youth-club",
    "swimming",
    "mental-health",
    "tribunal-advice",
    "mediation",
    "annual-review",
    "transition",
    "supported-internships",
    "college-courses",
    "housing-options",
)

# Spellings that vary row by row, as they do between teams and between years of the same system.
OUTCOME_SPELLINGS = {
    "plan_issued": ("Plan issued", "EHCP Issued", "Issued", "Final plan issued"),
    "not_issued": ("Not issued", "Decision not to issue", "No plan"),
    "not_assessed": ("Not assessed", "Decision not to assess", ""),
    "withdrawn": ("Withdrawn", "Request withdrawn"),
    "ongoing": ("Ongoing", "In progress", "", "Draft plan issued"),
}
PLACEMENT_SPELLINGS = {
    "mainstream": ("Mainstream", "Mainstream school", "Academy", "LA maintained mainstream"),
    "resourced_provision": ("Resourced provision", "SEN unit"),
    "maintained_special": ("Special school", "LA maintained special", "Special academy"),
    "independent_special": ("Independent special", "Independent special school", "ISS"),
    "non_maintained_special": ("Non-maintained special", "NMSS"),
    "independent_mainstream": ("Independent mainstream",),
    "alternative_provision": ("Alternative provision", "PRU"),
    "post16": ("FE college", "Sixth form college", "Further education"),
    "early_years": ("Early years setting", "Nursery"),
    "eotas": ("EOTAS", "Elective home education"),
}
PLACEMENT_SHARES = {
    "mainstream": 0.42,
    "resourced_provision": 0.06,
    "maintained_special": 0.28,
    "independent_special": 0.08,
    "non_maintained_special": 0.02,
    "independent_mainstream": 0.01,
    "alternative_provision": 0.02,
    "post16": 0.07,
    "early_years": 0.02,
    "eotas": 0.02,
}
YES = ("Y", "Yes", "YES", "y")
NO = ("N", "No", "NO", "")


def _rng(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def _pick(rng: np.random.Generator, choices: tuple[str, ...] | list[str], size: int) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.integers(0, len(choices), size)]


def _days(start: dt.date, offsets: np.ndarray) -> np.ndarray:
    return np.datetime64(start, "D") + offsets.astype("int64")


def _month_starts(end: dt.date, months: int) -> list[dt.date]:
    firsts = []
    year, month = end.year, end.month
    for _ in range(months):
        firsts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _la_number(la_code: str) -> str:
    reference = bundled_la_reference()
    if reference is not None:
        match = reference.filter(pl.col("new_la_code") == la_code)
        if match.height:
            return str(match["old_la_code"][0]).zfill(3)
    return "999"


def mixed_dates(column: str, rng: np.random.Generator, size: int, shares=(0.7, 0.2, 0.1)) -> pl.Expr:
    """A date column as text, each cell in one of dd/mm/yyyy, yyyy-mm-dd or an Excel serial number."""
    choice = pl.Series(rng.choice(3, size=size, p=shares))
    value = pl.col(column)
    serial = (value - pl.lit(EXCEL_EPOCH)).dt.total_days().cast(pl.String)
    return (
        pl.when(value.is_null())
        .then(pl.lit(None, pl.String))
        .when(pl.lit(choice) == 0)
        .then(value.dt.strftime("%d/%m/%Y"))
        .when(pl.lit(choice) == 1)
        .then(value.dt.strftime("%Y-%m-%d"))
        .otherwise(serial)
        .alias(column)
    )


def _people(rng: np.random.Generator, count: int, prefix: str, la_number: str, salt: int) -> pl.DataFrame:
    """Identities: an id unique within the pool, a UPN (letter + 12 digits), forename and surname."""
    index = np.arange(count, dtype=np.int64)
    digits = (index * 104_729 + salt) % 1_000_000_000  # a bijection on 0..1e9-1: unique UPN digits
    letters = np.asarray(list("ABCDEFGHJKLMNPQRTUVWXYZ"), dtype=object)[(index * 7 + salt) % 23]
    ids = (index * 48_271 + salt) % 10_000_000
    return pl.DataFrame(
        {
            "id": [f"{prefix}{i:07d}" for i in ids],
            "upn": [f"{letter}{la_number}{d:09d}" for letter, d in zip(letters, digits, strict=True)],
            "forename": _pick(rng, FORENAMES, count).astype(str),
            "surname": _pick(rng, SURNAMES, count).astype(str),
        }
    )


def _write_csv(frame: pl.DataFrame, path: Path, *, bom: bool = False, preamble: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        if bom:
            handle.write("\ufeff".encode())
        if preamble:
            handle.write(preamble.encode())
        frame.write_csv(handle, null_value="")
    return path


# ---------------------------------------------------------------------------------------------


def timeliness_share(request_dates: np.ndarray) -> np.ndarray:
    """Share of plans issued within 20 weeks by request date: strong, collapsing in 2023-24, recovering in 2025."""
    years = request_dates.astype("datetime64[Y]").astype(int) + 1970
    months = request_dates.astype("datetime64[M]").astype(int) % 12
    when = years + months / 12
    return np.interp(
        when,
        [2015.0, 2021.0, 2022.0, 2023.0, 2023.75, 2024.25, 2024.75, 2025.5],
        [0.93, 0.88, 0.80, 0.60, 0.30, 0.15, 0.25, 0.60],
    )


def casework_frame(seed: int, la_number: str, end: dt.date, scale: int = 1) -> pl.DataFrame:
    """The casework extract's rows (typed, with names and all) before they are spelled out as text."""
    rng = _rng(seed, "casework")
    n = CASEWORK_ROWS * scale
    start = dt.date(end.year - 10, end.month, 1)
    span = (end - start).days
    # Requests grow over the decade (density rising 1 -> 2.5): inverse CDF of a linear density.
    growth = 1.5
    u = rng.random(n)
    position = (-1 + np.sqrt(1 + growth * (2 + growth) * u)) / growth
    received = np.sort(_days(start, np.floor(position * span)))
    weekday = (received.astype("int64") + 3) % 7  # 0 = Monday
    received = received + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    received = np.minimum(received, np.datetime64(end, "D"))

    # People: most requests are a child's first; about one in ten is a later request for the same child.
    person = np.arange(n)
    repeat = (rng.random(n) < 0.1) & (person > 0)
    earlier = np.floor(rng.random(n) * person).astype(np.int64)
    person = np.where(repeat, earlier, person)
    while True:  # follow chains of repeats to the first request
        jumped = person[person]
        if np.array_equal(jumped, person):
            break
        person = jumped
    age_years = rng.choice(
        [2, 4, 6, 8, 10, 12, 14, 16, 18, 21],
        size=n,
        p=[0.08, 0.12, 0.14, 0.14, 0.13, 0.13, 0.12, 0.08, 0.04, 0.02],
    )
    born = received - (age_years * 365.25 + rng.integers(0, 365, n)).astype("int64")
    dob = born[person]
    age_now = (received - dob).astype("int64") / 365.25
    too_old = age_now > 24.5  # a repeat request years later: treat as a new child instead
    person = np.where(too_old, np.arange(n), person)
    dob = np.where(too_old, born, dob)
    people = _people(rng, n, "CP", la_number, salt=seed % 997 + 11)

    decision_days = np.clip(rng.gamma(6.0, 6.0, n), 14, 120).astype("int64")
    decision_date = received + decision_days
    decided = decision_date <= np.datetime64(end)
    assess = rng.random(n) < 0.76
    fate = rng.random(n)
    exception = (rng.random(n) < 0.05) & assess
    within = rng.random(n) < timeliness_share(received)
    issue_days = np.where(within, rng.integers(84, 141, n), 141 + rng.gamma(2.0, 45.0, n).astype("int64"))
    issue_days = np.where(exception, issue_days + 35, issue_days)
    edge = rng.random(n) < 0.01  # a few exactly at 140 and 141 days, the rule's boundary
    issue_days = np.where(edge, rng.integers(140, 142, n), issue_days)
    end_day = np.datetime64(end, "D")
    plan_date = received + issue_days
    plan = decided & assess & (fate < 0.9)
    issued = plan & (plan_date <= end_day)
    not_issued_date = received + rng.integers(98, 141, n)
    not_issued = decided & assess & (fate >= 0.9) & (fate < 0.96) & (not_issued_date <= end_day)
    withdrawn_date = received + rng.integers(20, 200, n)
    withdrawn = ~issued & ~not_issued & (rng.random(n) < 0.03) & (withdrawn_date <= end_day)
    refused = decided & ~assess & ~withdrawn
    outcome = np.full(n, "ongoing", dtype=object)
    outcome[refused] = "not_assessed"
    outcome[not_issued] = "not_issued"
    outcome[withdrawn] = "withdrawn"
    outcome[issued] = "plan_issued"

    ceased_date = plan_date + (rng.exponential(9 * 365, n)).astype("int64")
    ceased = issued & (ceased_date <= end_day)
    placement = rng.choice(list(PLACEMENT_SHARES), size=n, p=list(PLACEMENT_SHARES.values()))
    out_share = np.where(np.isin(placement, ["independent_special", "non_maintained_special"]), 0.7, 0.08)
    out_of_borough = rng.random(n) < out_share
    closing = np.where(issued, plan_date, np.where(not_issued, not_issued_date, decision_date))
    mediation_date = closing + rng.integers(20, 80, n)
    mediation = (rng.random(n) < 0.04) & (issued | not_issued | refused) & (mediation_date <= end_day)
    tribunal_date = closing + rng.integers(60, 150, n)
    tribunal = (rng.random(n) < 0.025) & (issued | not_issued | refused) & (tribunal_date <= end_day)

    def when(mask: np.ndarray, dates: np.ndarray) -> pl.Series:
        return pl.Series(np.where(mask, dates, np.datetime64("NaT")), dtype=pl.Date)

    outcome_given = np.isin(outcome, ["not_issued", "withdrawn"]) | (issued & (rng.random(n) < 0.3))
    frame = pl.DataFrame(
        {
            "person": person,
            "received": pl.Series(received, dtype=pl.Date),
            "dob": pl.Series(dob, dtype=pl.Date),
            "decision_to_assess": np.where(decided, np.where(assess, "yes", "no"), ""),
            "decision_date": when(decided, decision_date),
            "outcome": outcome.astype(str),
            "outcome_date": when(
                outcome_given,
                np.where(issued, plan_date, np.where(not_issued, not_issued_date, withdrawn_date)),
            ),
            "plan_issue_date": when(issued, plan_date),
            "exception": exception & plan,
            "mediation": mediation,
            "mediation_date": when(mediation, mediation_date),
            "tribunal": tribunal,
            "tribunal_date": when(tribunal, tribunal_date),
            "placement": np.where(issued & ~ceased, placement, ""),
            "out_of_borough": out_of_borough,
            "plan_ceased_date": when(ceased, ceased_date),
        }
    )
    frame = frame.with_row_index("request").with_columns(
        pl.format(
            "EHC/{}/{}", pl.col("received").dt.year(), pl.col("request").cast(pl.String).str.zfill(6)
        ).alias("request_id")
    )
    return frame.drop("request").join(
        people.with_row_index("person").with_columns(pl.col("person").cast(pl.Int64)), on="person", how="left"
    )


def write_casework(out: Path, seed: int, la_number: str, end: dt.date, scale: int) -> Path:
    rng = _rng(seed, "casework-text")
    frame = casework_frame(seed, la_number, end, scale)
    n = frame.height
    spell = {k: pl.Series(_pick(rng, v, n)) for k, v in OUTCOME_SPELLINGS.items()}
    outcome_text = pl.lit("")
    for key, spelled in spell.items():
        outcome_text = pl.when(pl.col("outcome") == key).then(pl.lit(spelled)).otherwise(outcome_text)
    placement_text = pl.lit("")
    for key, spellings in PLACEMENT_SPELLINGS.items():
        placement_text = (
            pl.when(pl.col("placement") == key)
            .then(pl.lit(pl.Series(_pick(rng, spellings, n))))
            .otherwise(placement_text)
        )
    flag = {True: pl.Series(_pick(rng, YES, n)), False: pl.Series(_pick(rng, NO, n))}

    def yes_no(column: str) -> pl.Expr:
        return pl.when(pl.col(column)).then(pl.lit(flag[True])).otherwise(pl.lit(flag[False]))

    # Some plans show the outcome date only (the issue date column left blank): the reader takes it.
    blank_issue = pl.lit(pl.Series(rng.random(n) < 0.02)) & pl.col("outcome_date").is_not_null()
    text = (
        frame.with_columns(
            pl.when(blank_issue).then(None).otherwise(pl.col("plan_issue_date")).alias("plan_issue_date"),
            pl.when(pl.col("upn").is_not_null() & pl.lit(pl.Series(rng.random(n) < 0.06)))
            .then(None)
            .otherwise(pl.col("upn"))
            .alias("upn"),
        )
        .with_columns(
            *[
                mixed_dates(c, rng, n)
                for c in (
                    "received",
                    "dob",
                    "decision_date",
                    "outcome_date",
                    "plan_issue_date",
                    "mediation_date",
                    "tribunal_date",
                    "plan_ceased_date",
                )
            ],
        )
        .select(
            pl.col("id").alias("Person ID"),
            pl.col("upn").alias("UPN"),
            pl.col("forename").alias("Forename"),
            pl.col("surname").alias("Surname"),
            pl.col("dob").alias("Date of Birth"),
            pl.col("request_id").alias("Request ID"),
            pl.col("received").alias("Date Request Received"),
            pl.when(pl.col("decision_to_assess") == "yes")
            .then(pl.lit(flag[True]))
            .when(pl.col("decision_to_assess") == "no")
            .then(pl.lit(pl.Series(_pick(rng, ("N", "No"), n))))
            .otherwise(pl.lit(""))
            .alias("Decision to Assess"),
            pl.col("decision_date").alias("Decision Date"),
            outcome_text.alias("Assessment Outcome"),
            pl.col("outcome_date").alias("Outcome Date"),
            pl.col("plan_issue_date").alias("Plan Issue Date"),
            yes_no("exception").alias("20 Week Exception"),
            pl.when(pl.col("exception"))
            .then(pl.lit(pl.Series(_pick(rng, EXCEPTION_REASONS, n))))
            .otherwise(pl.lit(""))
            .alias("Exception Reason"),
            # A few mediations are flagged without their date, as happens in live systems.
            yes_no("mediation").alias("Mediation"),
            pl.when(pl.lit(pl.Series(rng.random(n) < 0.05)))
            .then(None)
            .otherwise(pl.col("mediation_date"))
            .alias("Mediation Date"),
            yes_no("tribunal").alias("Tribunal"),
            pl.col("tribunal_date").alias("Tribunal Date"),
            placement_text.alias("Current Placement Type"),
            pl.when(pl.col("placement") == "")
            .then(pl.lit(""))
            .when(pl.col("out_of_borough"))
            .then(pl.lit(pl.Series(_pick(rng, ("Out of borough", "OOB", "Out"), n))))
            .otherwise(pl.lit(pl.Series(_pick(rng, ("In borough", "In", "In borough"), n))))
            .alias("In/Out of Borough"),
            pl.col("plan_ceased_date").alias("Plan Ceased Date"),
        )
    )
    text = _with_exact_duplicates(text, rng, share=0.003)
    return _write_csv(text, out / f"ehcp_casework_{end:%Y-%m-%d}.csv", bom=True)


def _with_exact_duplicates(frame: pl.DataFrame, rng: np.random.Generator, share: float) -> pl.DataFrame:
    """Some rows exported twice, next to their original (a join fanning out in the report)."""
    picked = frame.with_row_index("_order").filter(pl.lit(pl.Series(rng.random(frame.height) < share)))
    both = pl.concat([frame.with_row_index("_order"), picked]).sort("_order", maintain_order=True)
    return both.drop("_order")


# ---------------------------------------------------------------------------------------------


def _school_days(start: dt.date, end: dt.date) -> np.ndarray:
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    weekday = (days.astype("int64") + 3) % 7
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(int) + 1
    holiday = (
        (month == 8) | ((month == 12) & (day > 20)) | ((month == 1) & (day < 4)) | ((month == 7) & (day > 22))
    )
    return days[(weekday < 5) & ~holiday]


def write_exclusions(out: Path, seed: int, la_number: str, end: dt.date, scale: int) -> list[Path]:
    rng = _rng(seed, "exclusions")
    n = EXCLUSION_ROWS * scale
    days = _school_days(EXCLUSIONS_FROM, end)
    weight = 1 + 0.9 * (days - days[0]).astype("int64") / max(1, (days[-1] - days[0]).astype("int64"))
    date = np.sort(rng.choice(days, size=n, p=weight / weight.sum()))
    academic_start = (
        date.astype("datetime64[Y]").astype(int) + 1970 - (date.astype("datetime64[M]").astype(int) % 12 < 8)
    )
    age = rng.choice(np.arange(5, 16), size=n, p=np.array([1, 1, 2, 2, 3, 4, 8, 12, 14, 14, 12]) / 73)
    cohorts = np.arange(1998, 2021)
    per_cohort = max(50, n // 3 // len(cohorts))
    cohort = academic_start - age - 1  # September-born year of the cohort
    pupil = (cohort - cohorts[0]) * per_cohort + np.floor(per_cohort * rng.random(n) ** 2).astype(np.int64)
    n_pupils = per_cohort * len(cohorts)
    pupil_cohort = cohorts[np.arange(n_pupils) // per_cohort]
    pupil_dob = _days(dt.date(1998, 9, 1), (pupil_cohort - 1998) * 365.25 + rng.integers(0, 365, n_pupils))
    pupil_sen = rng.choice(
        ["ehc_plan", "sen_support", "none", "blank"], size=n_pupils, p=[0.14, 0.33, 0.51, 0.02]
    )
    pupil_school = rng.integers(0, len(PLACES), n_pupils)
    people = _people(rng, n_pupils, "PU", la_number, salt=seed % 991 + 7)
    permanent = rng.random(n) < 0.012
    frame = pl.DataFrame(
        {
            "pupil": pupil,
            "date": pl.Series(date, dtype=pl.Date),
            "age": age,
            "permanent": permanent,
            "sessions": np.where(permanent, 0, 1 + rng.geometric(0.45, n) - 1).astype(np.int64),
        }
    ).join(
        people.with_columns(
            pl.Series("pupil", np.arange(n_pupils)),
            pl.Series("dob", pupil_dob, dtype=pl.Date),
            pl.Series("sen", pupil_sen),
            pl.Series("school_place", pupil_school),
        ),
        on="pupil",
        how="left",
    )
    sen_text = {
        "ehc_plan": ("EHC Plan", "E", "EHCP"),
        "sen_support": ("SEN Support", "K"),
        "none": ("None", "N", "No SEN"),
        "blank": ("",),
    }
    sen = pl.lit("")
    for key, spellings in sen_text.items():
        sen = pl.when(pl.col("sen") == key).then(pl.lit(pl.Series(_pick(rng, spellings, n)))).otherwise(sen)
    places = pl.Series(np.asarray(PLACES, dtype=object)[frame["school_place"].to_numpy()].astype(str))
    school = (
        pl.when(pl.col("age") < 11)
        .then(pl.lit(places) + " Primary School")
        .otherwise(pl.lit(places) + pl.lit(pl.Series(_pick(rng, (" High School", " Academy", " School"), n))))
    )
    text = (
        frame.with_columns(mixed_dates("date", rng, n), mixed_dates("dob", rng, n))
        .select(
            pl.col("id").alias("Pupil ID"),
            pl.col("upn").alias("UPN"),
            (pl.col("forename") + " " + pl.col("surname")).alias("Pupil Name"),
            pl.col("dob").alias("DOB"),
            school.alias("School"),
            pl.col("date").alias("Start Date"),
            pl.when(pl.col("permanent"))
            .then(pl.lit(pl.Series(_pick(rng, ("Permanent", "PEX", "Permanent exclusion"), n))))
            .otherwise(pl.lit(pl.Series(_pick(rng, ("Suspension", "Fixed Term", "FTE", "Suspension"), n))))
            .alias("Category"),
            pl.when(pl.col("permanent"))
            .then(pl.lit(""))
            .otherwise(pl.col("sessions").cast(pl.String))
            .alias("Sessions"),
            sen.alias("SEN Provision"),
        )
        .with_columns(pl.Series("_year", academic_start))
    )
    paths = []
    for year in sorted(set(academic_start.tolist())):
        part = text.filter(pl.col("_year") == year).drop("_year")
        part = _with_exact_duplicates(part, rng, share=0.002)
        paths.append(_write_csv(part, out / f"exclusions_log_{year}-{(year + 1) % 100:02d}.csv"))
    return paths


# ---------------------------------------------------------------------------------------------


def write_web_analytics(out: Path, seed: int, end: dt.date, months: int, scale: int) -> list[Path]:
    rng = _rng(seed, "web")
    firsts = _month_starts(end, months)
    start = firsts[0]
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    n_pages = 1_200 * scale
    paths = np.asarray(
        [
            f"/localoffer/{WEB_SECTIONS[i % len(WEB_SECTIONS)]}/"
            f"{WEB_TOPICS[(i // len(WEB_SECTIONS)) % len(WEB_TOPICS)]}"
            + (
                f"-{i // (len(WEB_SECTIONS) * len(WEB_TOPICS))}"
                if i >= len(WEB_SECTIONS) * len(WEB_TOPICS)
                else ""
            )
            for i in range(n_pages)
        ],
        dtype=object,
    )
    paths[0] = "/localoffer"
    popularity = 1 / (np.arange(1, n_pages + 1) ** 0.8)
    rng.shuffle(popularity[1:])
    target_per_day = WEB_ROWS * scale / len(days)
    low, high = 0.0, 1e6
    for _ in range(60):  # inclusion probability min(1, c * popularity) summing to the target
        mid = (low + high) / 2
        low, high = (mid, high) if np.minimum(1, mid * popularity).sum() < target_per_day else (low, mid)
    include = np.minimum(1, high * popularity)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    weekday = (days.astype("int64") + 3) % 7
    season = np.where(month == 8, 0.6, np.where(np.isin(month, [9, 1]), 1.3, 1.0)) * np.where(
        weekday >= 5, 0.6, 1
    )
    trend = 1 + 0.35 * np.arange(len(days)) / len(days)
    written = []
    for index, first in enumerate(firsts):
        in_month = np.flatnonzero(days.astype("datetime64[M]") == np.datetime64(first, "M"))
        hits = rng.random((len(in_month), n_pages)) < include
        day_index, page_index = np.nonzero(hits)
        day_rows = in_month[day_index]
        lam = 40 * popularity[page_index] * season[day_rows] * trend[day_rows]
        views = 1 + rng.poisson(lam)
        sessions = np.maximum(1, rng.binomial(views, 0.78))
        users = np.maximum(1, rng.binomial(sessions, 0.9))
        frame = pl.DataFrame(
            {
                "path": paths[page_index].astype(str),
                "date": pl.Series(days[day_rows], dtype=pl.Date),
                "views": views,
                "sessions": sessions,
                "users": users,
            }
        )
        last = min(_month_end(first), end)
        if index % 5 == 4:  # a Matomo-style export: other headings, ISO dates, thousands separators
            text = frame.select(
                pl.col("date").dt.strftime("%Y-%m-%d").alias("Date"),
                pl.col("path").alias("Page URL"),
                *[
                    _thousands(c).alias(name)
                    for c, name in (
                        ("views", "Pageviews"),
                        ("sessions", "Visits"),
                        ("users", "Unique visitors"),
                    )
                ],
            )
            preamble = ""
        else:
            text = frame.select(
                pl.col("path").alias("Page path and screen class"),
                pl.col("date").dt.strftime("%Y%m%d").alias("Date"),
                pl.col("views").alias("Views"),
                pl.col("sessions").alias("Sessions"),
                pl.col("users").alias("Total users"),
            )
            preamble = (
                "# ----------------------------------------\n# SEND Local Offer - Pages and screens\n"
                f"# Start date: {first:%Y%m%d}\n# End date: {last:%Y%m%d}\n"
                "# ----------------------------------------\n\n"
            )
        written.append(_write_csv(text, out / f"local_offer_visits_{first:%Y-%m}.csv", preamble=preamble))
    return written


def _thousands(column: str) -> pl.Expr:
    value = pl.col(column)
    return (
        pl.when(value >= 1000)
        .then((value // 1000).cast(pl.String) + "," + (value % 1000).cast(pl.String).str.zfill(3))
        .otherwise(value.cast(pl.String))
    )


# ---------------------------------------------------------------------------------------------


def write_training(out: Path, seed: int, end: dt.date, months: int, scale: int) -> Path:
    rng = _rng(seed, "training")
    firsts = _month_starts(end, months)
    n = TRAINING_ROWS * scale
    n_staff = 800 * scale
    staff = _people(rng, n_staff, "E", "", salt=seed % 983 + 3)
    staff_team = _pick(rng, TEAMS, n_staff)
    who = rng.integers(0, n_staff, n)
    span = (end - firsts[0]).days
    completed = _days(firsts[0], rng.integers(0, span + 1, n))
    not_completed = rng.random(n) < 0.08
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Completions"
    sheet.append([f"SEND training completions report - run {end:%d/%m/%Y}"])
    sheet.append([])
    sheet.append(["Employee Number", "Learner Name", "Email", "Course Title", "Completion Date", "Team"])
    ids, forenames, surnames = staff["id"].to_list(), staff["forename"].to_list(), staff["surname"].to_list()
    courses = _pick(rng, COURSES, n)
    as_text = rng.random(n) < 0.15
    for i in range(n):
        person = int(who[i])
        day = completed[i].astype(object)
        cell = None if not_completed[i] else (day.strftime("%d/%m/%Y") if as_text[i] else day)
        sheet.append(
            [
                ids[person],
                f"{forenames[person]} {surnames[person]}",
                f"{forenames[person]}.{surnames[person]}@example.gov.uk".lower(),
                str(courses[i]),
                cell,
                str(staff_team[person]),
            ]
        )
    for row in sheet.iter_rows(min_row=4, min_col=5, max_col=5):
        if isinstance(row[0].value, dt.date):
            row[0].number_format = "dd/mm/yyyy"
    return save_workbook(workbook, out / f"training_records_{end:%Y-%m}.xlsx", creator="SEND demo")


# ---------------------------------------------------------------------------------------------

NCCIS_CODES = {
    "education": ("110", "120", "130", "140", "Education", "Full time education"),
    "apprenticeship": ("210", "Apprenticeship"),
    "employment": ("220", "230", "240", "260", "Employment"),
    "supported_internship": ("320", "Supported internship"),
    "training": ("310", "330", "Traineeship"),
    "volunteering": ("410", "Voluntary work"),
    "neet": ("540", "550", "610", "620", "630", "NEET"),
    "not_known": ("810", "820", "Not known"),
    "other": ("710",),
}
ACTIVITY_SHARES = {  # by SEND status: education, apprenticeship, employment, internship, training, volunteering,
    #                  NEET, not known, other
    "ehcp": (0.70, 0.02, 0.03, 0.05, 0.03, 0.02, 0.09, 0.05, 0.01),
    "sen_support": (0.78, 0.05, 0.04, 0.005, 0.025, 0.01, 0.06, 0.025, 0.005),
    "none": (0.86, 0.05, 0.03, 0.0, 0.01, 0.005, 0.025, 0.02, 0.0),
}


def write_post16(out: Path, seed: int, la_number: str, end: dt.date, months: int, scale: int) -> list[Path]:
    rng = _rng(seed, "post16")
    firsts = _month_starts(end, months)
    cohort_size = POST16_COHORT * scale
    first_cohort, last_cohort = 1998, 2010  # September-born years
    cohorts = np.arange(first_cohort, last_cohort + 1)
    n = cohort_size * len(cohorts)
    cohort = np.repeat(cohorts, cohort_size)
    dob = _days(dt.date(first_cohort, 9, 1), (cohort - first_cohort) * 365.25 + rng.integers(0, 365, n))
    send = rng.choice(["ehcp", "sen_support", "none"], size=n, p=[0.05, 0.11, 0.84])
    people = _people(rng, n, "YP", la_number, salt=seed % 977 + 5)
    keys = list(NCCIS_CODES)
    base = np.empty(n, dtype=object)
    for status, shares in ACTIVITY_SHARES.items():
        mask = send == status
        base[mask] = rng.choice(keys, size=int(mask.sum()), p=np.asarray(shares) / sum(shares))
    living = rng.choice(
        ["Family home", "Supported living", "Independent living", "Residential college", ""],
        size=n,
        p=[0.7, 0.08, 0.05, 0.04, 0.13],
    )
    social_care = rng.random(n) < 0.2
    health_check = rng.random(n) < 0.55
    paths = []
    for index, first in enumerate(firsts):
        academic = first.year - (first.month < 9)
        age = academic - cohort - 1  # academic age: age on 31 August before this academic year
        listed = ((age >= 16) & (age <= 17)) | ((send == "ehcp") & (age >= 18) & (age <= 24))
        rows = np.flatnonzero(listed)
        churn = rng.random(rows.size) < 0.04
        activity = np.where(
            churn, rng.choice(["neet", "not_known", "employment"], size=rows.size), base[rows]
        )
        code = np.empty(rows.size, dtype=object)
        for key, spellings in NCCIS_CODES.items():
            mask = activity == key
            numeric = [s for s in spellings if s.isdigit()]
            words = [s for s in spellings if not s.isdigit()] or numeric
            code[mask] = np.where(
                rng.random(int(mask.sum())) < 0.9,
                _pick(rng, numeric, int(mask.sum())),
                _pick(rng, words, int(mask.sum())),
            )
        status_text = {
            "ehcp": ("EHCP", "E", "EHC Plan"),
            "sen_support": ("SEN Support", "K"),
            "none": ("None", "N"),
        }
        send_text = np.empty(rows.size, dtype=object)
        for key, spellings in status_text.items():
            mask = send[rows] == key
            send_text[mask] = _pick(rng, spellings, int(mask.sum()))
        ehcp = send[rows] == "ehcp"
        frame = pl.DataFrame(
            {
                "CCIS ID": people["id"].to_numpy()[rows],
                "UPN": people["upn"].to_numpy()[rows],
                "Forename": people["forename"].to_numpy()[rows],
                "Surname": people["surname"].to_numpy()[rows],
                "DOB": pl.Series(dob[rows], dtype=pl.Date),
                "SEND": send_text.astype(str),
                "Activity Code": code.astype(str),
                "Accommodation": np.where(ehcp, living[rows], "").astype(str),
                "Social care activities": np.where(ehcp, np.where(social_care[rows], "Y", "N"), ""),
                "Annual health check": np.where(
                    ehcp & (age[rows] >= 14), np.where(health_check[rows], "Y", "N"), ""
                ),
            }
        )
        if index == 0:
            paths.append(_post16_workbook(frame, out, first))
            continue
        frame = frame.with_columns(mixed_dates("DOB", rng, frame.height, shares=(0.85, 0.15, 0.0)))
        paths.append(_write_csv(frame, out / f"nccis_post16_{first:%Y-%m}.csv"))
    return paths


def _post16_workbook(frame: pl.DataFrame, out: Path, first: dt.date) -> Path:
    """One month exported from the CCIS system as a workbook: a title row, then a Month column ('Apr-24')."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Caseload"
    sheet.append([f"Post-16 caseload, {first:%B %Y}"])
    sheet.append(["Month", *frame.columns])
    for row in frame.iter_rows():
        sheet.append([first.strftime("%b-%y"), *row])
    for row in sheet.iter_rows(min_row=3, min_col=6, max_col=6):
        row[0].number_format = "dd/mm/yyyy"
    return save_workbook(workbook, out / f"nccis_post16_{first:%Y-%m}.xlsx", creator="SEND demo")


# ---------------------------------------------------------------------------------------------


def generate_local_extracts(
    raw_dir: Path,
    seed: int,
    la_code: str = "E08000007",
    months: int = 15,
    scale: int = 1,
    *,
    end: dt.date = DEMO_EXTRACT_DATE,
    use_demo_key: bool = True,
) -> list[Path]:
    """Write the demo LA's local extracts into `raw_dir/local/`; returns the files written.

    `months` monthly files of web analytics and post-16 caseload end at `end`; the casework extract
    holds ten years of requests and the exclusions log every academic year since 2017/18. `scale`
    multiplies the volumes (10: ~100,000 casework, ~500,000 exclusion and ~5,000,000 web analytics rows).
    With `use_demo_key`, SEND_PSEUDONYM_KEY is set to the public demo key for this process when it is
    not set already, so the demo loads without a secret; never load real extracts with that key.
    """
    out = Path(raw_dir) / "local"
    out.mkdir(parents=True, exist_ok=True)
    if use_demo_key and not os.environ.get(PSEUDONYM_KEY_ENV):
        log.warning(
            "%s is not set: using the public demo key for this run (synthetic data only)", PSEUDONYM_KEY_ENV
        )
        os.environ[PSEUDONYM_KEY_ENV] = DEMO_PSEUDONYM_KEY
    la_number = _la_number(la_code)
    return [
        write_casework(out, seed, la_number, end, scale),
        *write_exclusions(out, seed, la_number, end, scale),
        *write_web_analytics(out, seed, end, months, scale),
        write_training(out, seed, end, months, scale),
        *write_post16(out, seed, la_number, end, months, scale),
    ]


# ---------------------------------------------------------------------------------------------
# Deliberately broken extracts: each file breaks one rule and must fail with a clear message.

_CASEWORK_HEADER = (
    "Person ID,UPN,Forename,Surname,Date of Birth,Request ID,Date Request Received,"
    "Decision to Assess,Decision Date,Assessment Outcome,Outcome Date,Plan Issue Date,"
    "20 Week Exception,Exception Reason\n"
)
BAD_LOCAL_EXTRACTS: dict[str, tuple[str, str, str]] = {
    # problem: (folder/file name, content, what the error names)
    "impossible_date": (
        "impossible_date/ehcp_casework_2025-06-30.csv",
        _CASEWORK_HEADER
        + "CP0000001,A356000000001,Ada,Quill,03/04/2015,EHC/2025/000001,12/01/2025,Yes,20/02/2025,Ongoing,,,N,\n"
        + "CP0000002,A356000000002,Bo,Quill,2014-07-09,EHC/2025/000002,31/02/2025,Yes,,Ongoing,,,N,\n",
        "row 3, column 'Date Request Received'): the value (not shown: cells of local extracts are never quoted) is not a real calendar date",
    ),
    "duplicate_request": (
        "duplicate_request/ehcp_casework_2025-06-30.csv",
        _CASEWORK_HEADER
        + "CP0000001,A356000000001,Ada,Quill,03/04/2015,EHC/2025/000001,12/01/2025,Yes,20/02/2025,Ongoing,,,N,\n"
        + "CP0000003,A356000000003,Cy,Quill,03/04/2016,EHC/2025/000003,14/01/2025,No,22/02/2025,,,,N,\n"
        + "CP0000001,A356000000001,Ada,Quill,03/04/2015,EHC/2025/000001,13/01/2025,Yes,20/02/2025,Ongoing,,,N,\n",
        "request id appears on rows 2, 4",
    ),
    "missing_column": (
        "missing_column/ehcp_casework_2025-06-30.csv",
        "Person ID,Forename,Request ID,Date Request Received,Assessment Outcome\n"
        "CP0000001,Ada,EHC/2025/000001,12/01/2025,Ongoing\n",
        "lacks the required column(s) 'date_of_birth'",
    ),
    "unknown_activity": (
        "unknown_activity/nccis_post16_2025-06.csv",
        "CCIS ID,Forename,DOB,SEND,Activity Code\n"
        "YP0000001,Ada,01/10/2008,EHCP,130\n"
        "YP0000002,Bo,15/11/2008,None,999\n",
        "row 3, column 'Activity Code'): the value (not shown: cells of local extracts are never quoted) is not a known NCCIS activity code",
    ),
    "bad_exclusion_date": (
        "bad_exclusion_date/exclusions_log_2024-25.csv",
        "Pupil ID,UPN,School,Start Date,Category,Sessions,SEN Provision\n"
        "PU0000001,A356000000009,Marple High School,2024-13-01,Suspension,2,K\n",
        "row 2, column 'Start Date'): the value (not shown: cells of local extracts are never quoted) is not a real calendar date",
    ),
}


def write_bad_local_extracts(out_dir: Path) -> dict[str, Path]:
    """Write each broken fixture in its own folder under `out_dir`; returns problem -> file."""
    written = {}
    for problem, (name, content, _) in BAD_LOCAL_EXTRACTS.items():
        path = Path(out_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written[problem] = path
    return written
