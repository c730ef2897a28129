"""Other national DfE files in their published layouts: NEET and not known by SEND (one CSV a year), school
pupils by ethnicity and language (gzip CSV and EES metadata), suspensions and exclusions, KS4 outcomes by SEN
status (workbook), and the LA lookup.

Quirks reproduced: NEET files have no BOM and LF line ends, change a few columns from 2024, spell 2023's
percentages with a trailing `.0`, use `z` for regional quintiles and first-year changes and `c` for small
groups; the pupils file lists its years newest first with rows in no particular order and puts `region_name`
before `region_code`; the exclusions file (BOM, CRLF, `time_identifier` first) splits London into Inner and
Outer London (E13 codes) and shows `z` rates where the headcount is zero; the KS4 workbook repeats London under
three names with one code and carries "Any SEN"/"No identified SEN" rows under the `Total` breakdown, so
"breakdown = Total" alone is not one row per LA.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from demo import ees, formats, geography
from demo.world import DEMO_LA, TINY_PLACES, World, level, rng_for

# -- NEET and not known ----------------------------------------------------------------------------------

NEET_COLUMNS_2022 = tuple(
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,Age,Cohort_DJFavg,NEET_not_known_percent,NEET_percent,"
    "Notknown_percent,annual_change_ppts_NEET_not_known,annualchange_NEET,annualchange_notknown,"
    "cohort_March,TOTAL_participating_in_education_and_training_percent,Full_time_education_percent,"
    "Apprenticeship_percent,Other_education_and_training_percent,"
    "annual_change_Participation_in_education_training,annual_change_FTE,"
    "annual_change_apprenticeship,annual_change_other_education_training,"
    "September_guarantee_Offer_made_percent,September_guarantee_annual_change_ppts,"
    "cohort_noSEN_percent,NEET_NK_noSEN_percent,cohort_EHCP_percent,NEET_NK_EHCP_percent,"
    "cohort_SENDsupport_percent,NEET_NK_SENDsupport_percent,VG_cohort_DJF_avg,VG_cohort_percentage,"
    "VG_NEET_NK_percentage,Level_3,L2_em_GCSE_othL2,avg_att8,pt_l2basics_94,sess_overall_percent,"
    "sess_overall_percent_pa_10_exact,Age1617_ONS_population,NEET_NK_quintile,NEET_quintile,"
    "Notknown_quintile,Participation_ET_quintile,Sep_guarantee_quintile".split(",")
)
# From 2024 the persistent-absence column is renamed and the ONS population column dropped.
NEET_COLUMNS_2024 = tuple(
    "enrolments_pa_10_exact_percent" if c == "sess_overall_percent_pa_10_exact" else c
    for c in NEET_COLUMNS_2022
    if c != "Age1617_ONS_population"
)
NEET_EHCP = {2022: 8.6, 2023: 10.1, 2024: 10.2, 2025: 10.1}
NEET_SEN_SUPPORT = {2022: 8.4, 2023: 9.3, 2024: 9.6, 2025: 9.6}
NEET_NO_SEN = {2022: 4.2, 2023: 4.6, 2024: 4.7, 2025: 4.9}
COHORT_EHCP = {2022: 4.4, 2023: 4.7, 2024: 4.9, 2025: 5.4}
COHORT_SEN_SUPPORT = {2022: 7.9, 2023: 7.8, 2024: 9.0, 2025: 10.1}
# Stockport's 16-17 year olds with an EHC plan NEET or not known (%): rising year on year.
DEMO_LA_NEET_EHCP = {2022: 9.4, 2023: 11.6, 2024: 14.1, 2025: 16.8}
NEET_GROUPS = ("no_sen", "ehcp", "support")


class NeetModel:
    """16-17 year olds by SEND group and activity for every place and year, from the shared world."""

    def __init__(self, world: World) -> None:
        rng = rng_for(world.seed, "neet")
        shape = world.pupils.shape
        years = world.years
        self.world = world
        self.cohort = world.pupils * 0.142 * np.exp(rng.normal(0, 0.03, shape))
        ehcp_share = (
            np.array([level(COHORT_EHCP, y) for y in years])[None, :] * world.traits.ehcp_propensity[:, None]
        )
        support_share = (
            np.array([level(COHORT_SEN_SUPPORT, y) for y in years])[None, :]
            * world.traits.support_propensity[:, None]
        )
        self.share = {
            "ehcp": ehcp_share * np.exp(rng.normal(0, 0.05, shape)) / 100,
            "support": support_share * np.exp(rng.normal(0, 0.08, shape)) / 100,
        }
        self.share["no_sen"] = 1 - self.share["ehcp"] - self.share["support"]
        deprivation = 1 + 0.8 * (world.traits.deprivation[:, None] - 0.5)
        self.rate = {}
        for group, table in (("no_sen", NEET_NO_SEN), ("ehcp", NEET_EHCP), ("support", NEET_SEN_SUPPORT)):
            national = np.array([level(table, y) for y in years])[None, :]
            persistent = np.exp(rng.normal(0, 0.25, (shape[0], 1)))
            self.rate[group] = national * deprivation * persistent * np.exp(rng.normal(0, 0.12, shape)) / 100
        demo = world.row(DEMO_LA)
        self.rate["ehcp"][demo] = [level(DEMO_LA_NEET_EHCP, y) / 100 for y in years]
        self.not_known_share = np.clip(rng.normal(0.42, 0.15, shape), 0.02, 0.9)
        self.participation = world.traits.participation[:, None] + rng.normal(0, 0.4, shape)
        self.attainment = world.traits.attainment[:, None] + rng.normal(0, 0.3, shape)
        self.offer = np.clip(95 + 1.5 * self.participation + rng.normal(0, 1.5, shape), 70, 100)
        self.vulnerable = self.cohort * np.clip(rng.normal(0.022, 0.01, shape), 0.0005, 0.06)

    def counts(self, places: list[str], year: int) -> dict[str, float]:
        """Cohort, group sizes and NEET/not known counts summed over places."""
        rows = [self.world.row(p) for p in places]
        j = year - self.world.years[0]
        cohort = self.cohort[rows, j]
        totals = {"cohort": cohort.sum(), "vulnerable": self.vulnerable[rows, j].sum()}
        neet_nk = 0.0
        for group in NEET_GROUPS:
            size = cohort * self.share[group][rows, j]
            neet = size * self.rate[group][rows, j]
            totals[f"{group}_cohort"] = size.sum()
            totals[f"{group}_neet_nk"] = neet.sum()
            neet_nk += neet.sum()
        totals["neet_nk"] = neet_nk
        totals["not_known"] = float(
            (
                cohort
                * self.not_known_share[rows, j]
                * sum(self.share[g][rows, j] * self.rate[g][rows, j] for g in NEET_GROUPS)
            ).sum()
        )
        weights = cohort / cohort.sum()
        totals["participation"] = float((weights * self.participation[rows, j]).sum())
        totals["attainment"] = float((weights * self.attainment[rows, j]).sum())
        totals["offer"] = float((weights * self.offer[rows, j]).sum())
        return totals


def _neet_percentages(model: NeetModel, places: list[str], year: int) -> dict[str, float]:
    """The dashboard's measures for a group of places (one LA, a region or England) in a year."""
    c = model.counts(places, year)
    neet_nk = 100 * c["neet_nk"] / c["cohort"]
    not_known = 100 * c["not_known"] / c["cohort"]
    participation = float(np.clip(92.6 + 1.6 * c["participation"], 70, 99.5))
    apprenticeship = float(np.clip(4.4 + 0.8 * c["participation"], 0.3, 15))
    other = float(np.clip(1.9 - 0.3 * c["participation"], 0.1, 10))
    return {
        "NEET_not_known_percent": neet_nk,
        "NEET_percent": neet_nk - not_known,
        "Notknown_percent": not_known,
        "TOTAL_participating_in_education_and_training_percent": participation,
        "Full_time_education_percent": participation - apprenticeship - other,
        "Apprenticeship_percent": apprenticeship,
        "Other_education_and_training_percent": other,
        "September_guarantee_Offer_made_percent": c["offer"],
        "cohort_noSEN_percent": 100 * c["no_sen_cohort"] / c["cohort"],
        "NEET_NK_noSEN_percent": 100 * c["no_sen_neet_nk"] / c["no_sen_cohort"],
        "cohort_EHCP_percent": 100 * c["ehcp_cohort"] / c["cohort"],
        "NEET_NK_EHCP_percent": 100 * c["ehcp_neet_nk"] / c["ehcp_cohort"],
        "cohort_SENDsupport_percent": 100 * c["support_cohort"] / c["cohort"],
        "NEET_NK_SENDsupport_percent": 100 * c["support_neet_nk"] / c["support_cohort"],
        "support_cohort": c["support_cohort"],
        "Cohort_DJFavg": c["cohort"],
        "cohort_March": c["cohort"] * 1.002,
        "VG_cohort_DJF_avg": c["vulnerable"],
        "VG_cohort_percentage": 100 * c["vulnerable"] / c["cohort"],
        "VG_NEET_NK_percentage": float(np.clip(28 + 6 * (neet_nk - 5), 5, 70)),
        "Level_3": float(np.clip(58.5 + 5 * c["attainment"], 30, 85)),
        "L2_em_GCSE_othL2": float(np.clip(30 + 4 * c["attainment"], 10, 60)),
        "avg_att8": float(np.clip(47 + 4 * c["attainment"], 30, 65)),
        "pt_l2basics_94": float(np.clip(66 + 6 * c["attainment"], 40, 90)),
        "sess_overall_percent": float(np.clip(8.9 - 1.2 * c["participation"], 3, 15)),
        "persistent_absence": float(np.clip(26 - 3 * c["participation"], 10, 45)),
        "Age1617_ONS_population": c["cohort"] * 1.07,
    }


CHANGES = {
    "annual_change_ppts_NEET_not_known": "NEET_not_known_percent",
    "annualchange_NEET": "NEET_percent",
    "annualchange_notknown": "Notknown_percent",
    "annual_change_Participation_in_education_training": "TOTAL_participating_in_education_and_training_percent",
    "annual_change_FTE": "Full_time_education_percent",
    "annual_change_apprenticeship": "Apprenticeship_percent",
    "annual_change_other_education_training": "Other_education_and_training_percent",
    "September_guarantee_annual_change_ppts": "September_guarantee_Offer_made_percent",
}
QUINTILES = {
    "NEET_NK_quintile": ("NEET_not_known_percent", False),
    "NEET_quintile": ("NEET_percent", False),
    "Notknown_quintile": ("Notknown_percent", False),
    "Participation_ET_quintile": ("TOTAL_participating_in_education_and_training_percent", True),
    "Sep_guarantee_quintile": ("September_guarantee_Offer_made_percent", True),
}


def _quintiles(values: dict[str, float], descending: bool) -> dict[str, int]:
    """Quintile 1-5 of each LA's value (1 = lowest, or highest when `descending`)."""
    ordered = sorted(values, key=lambda code: (-values[code] if descending else values[code], int(code)))
    return {code: 1 + (5 * rank) // len(ordered) for rank, code in enumerate(ordered)}


def _neet_geographies(las: list) -> list[tuple[ees.Geography, list[str]]]:
    """The dashboard's rows: England, then each region (alphabetical) followed by its LAs by name."""
    rows = [(ees.Geography("National"), [la.old_la_code for la in las])]
    for region in sorted(geography.REGIONS, key=lambda r: r.name):
        members = sorted((la for la in las if la.region_code == region.code), key=lambda la: la.la_name)
        rows.append((ees.Geography("Regional", region=region), [la.old_la_code for la in members]))
        rows += [(ees.Geography("Local authority", region=region, la=la), [la.old_la_code]) for la in members]
    return rows


def write_neet(world: World, raw_dir: Path, scale: int) -> list[Path]:
    """`national/neet/UD_NEETNK_LA_dashboard_<year>_final.csv` for 2022-2025 (more years at larger scales)."""
    model = NeetModel(world)
    rng = rng_for(world.seed, "neet suppression")
    written = []
    for year in geography.extended_years(2022, 2025, scale):
        columns = NEET_COLUMNS_2024 if year >= 2024 else NEET_COLUMNS_2022
        las = [
            la
            for la in geography.authorities_on(geography.january(year))
            if la.old_la_code not in TINY_PLACES
        ]
        # A couple of LAs do not record SEN support in their client database: `z` for those columns.
        no_support_recorded = set(rng.choice([la.old_la_code for la in las], size=2, replace=False).tolist())
        published = [
            (place, places, _neet_percentages(model, places, year))
            for place, places in _neet_geographies(las)
        ]
        quintiles = {
            name: _quintiles(
                {place.la.old_la_code: values[measure] for place, _, values in published if place.la}, desc
            )
            for name, (measure, desc) in QUINTILES.items()
        }
        rows = []
        for place, places, values in published:
            code = place.la.old_la_code if place.la else None
            existed = code is None or geography.in_force(code, geography.january(year - 1))
            previous = _neet_percentages(model, places, year - 1) if existed else None
            cells = [
                str(year), "Calendar year", place.level, *ees.COUNTRY,
                place.region.code if place.region else None, place.region.name if place.region else None,
                code, place.la.new_la_code if place.la else None, place.la.la_name if place.la else None, "16-17",
            ]  # fmt: skip
            cells += [
                _neet_cell(column, values, previous, year, code, quintiles, no_support_recorded)
                for column in columns[11:]
            ]
            rows.append(cells)
        path = raw_dir / "national" / "neet" / f"UD_NEETNK_LA_dashboard_{year}_final.csv"
        written.append(formats.write_csv(path, columns, rows, bom=False, line_end="\n"))
    return written


def _neet_cell(
    column: str,
    values: dict[str, float],
    previous: dict[str, float] | None,
    year: int,
    code: str | None,
    quintiles: dict[str, dict[str, int]],
    no_support_recorded: set[str],
) -> str:
    """One NEET dashboard cell as published that year (`code` is the LA number, None for England/regions)."""

    def pct(value: float) -> str:
        if year != 2023:
            return formats.plain_number(round(value, 1), 1)
        text = f"{round(value, 1):.1f}"  # the 2023 file always shows one decimal place
        return "0.0" if text == "-0.0" else text

    if column in QUINTILES:
        return "z" if code is None else str(quintiles[column][code])
    if column in CHANGES:
        return "z" if previous is None else pct(values[CHANGES[column]] - previous[CHANGES[column]])
    if (
        column in ("cohort_SENDsupport_percent", "NEET_NK_SENDsupport_percent")
        and code in no_support_recorded
    ):
        return "z"
    if column == "NEET_NK_SENDsupport_percent" and values["support_cohort"] < 200:
        return "c"
    if column.startswith("VG_") and values["VG_cohort_DJF_avg"] < 20:
        return "c"
    if column == "Cohort_DJFavg" and year <= 2022:
        return formats.plain_number(round(values[column], 1), 1)
    if column in ("Cohort_DJFavg", "cohort_March", "VG_cohort_DJF_avg"):
        return str(round(values[column]))
    if column == "Age1617_ONS_population":
        return str(round(values[column])) if year <= 2022 else "z"
    if column in ("sess_overall_percent_pa_10_exact", "enrolments_pa_10_exact_percent"):
        return pct(values["persistent_absence"])
    return pct(values[column])


# -- school pupils by ethnicity and language -----------------------------------------------------------------

PUPIL_COLUMNS = tuple(
    "time_period,time_identifier,geographic_level,country_code,country_name,region_name,region_code,"
    "old_la_code,la_name,new_la_code,phase_type_grouping,ethnicity,language,headcount,"
    "percent_of_pupils".split(",")
)
PUPILS_META = (
    "col_name,col_type,label,indicator_grouping,indicator_unit,indicator_dp,filter_hint,filter_grouping_column\n"
    "phase_type_grouping,Filter,School type,,,,Filter by school type,\n"
    "ethnicity,Filter,Ethnicity,,,,Filter by pupil ethnicity,\n"
    "language,Filter,First language,,,,Filter by first language,\n"
    "headcount,Indicator,Headcount,Pupil counts,,0,,\n"
    "percent_of_pupils,Indicator,Percent,Pupil counts,,1,,\n"
)
# School phases: share of pupils and the chance an LA has that kind of school at all.
PHASES = (
    ("State-funded nursery", 0.004, 0.8),
    ("State-funded primary", 0.53, 1.0),
    ("State-funded secondary", 0.44, 1.0),
    ("State-funded special school", 0.018, 1.0),
    ("Pupil referral unit", 0.002, 0.97),
    ("Non-maintained special school", 0.0006, 0.4),
)
PUPIL_ETHNICITIES = ees.DFE_ETHNICITIES
MINORITY_SHARES = np.array(
    [2.0, 2.2, 1.8, 0.5, 3.4, 4.5, 0.8, 4.2, 1.1, 2.3, 1.4, 0.8, 1.5, 1.5, 7.5, 0.4, 0.3, 0.1]
)
# The two tiny LAs have only some kinds of school.
TINY_PHASES = {"201": ("state-funded primary",), "420": ("state-funded primary", "state-funded secondary")}
LANGUAGES = (
    "Known or believed to be English",
    "Known or believed to be other than English",
    "Language unclassified",
)


def _percent_of_pupils(count: int, total: int) -> str:
    if total == 0 or count == 0:
        return "0"
    if count == total:
        return "100"
    return f"{100 * count / total:.10g}"


def _repeat(values: list | tuple, times: int) -> list:
    """Each value repeated `times` times in place: [a, b] -> [a, a, b, b]."""
    return [value for value in values for _ in range(times)]


def _pupil_counts(
    world: World, year: int, rng: np.random.Generator, white_british: np.ndarray, has_phase: np.ndarray
) -> dict[tuple[str | None, str], np.ndarray]:
    """Headcounts per (LA number, region code or None for England; phase): the phase total, then by
    ethnicity, then by first language - each breakdown adding up to the total."""
    counts: dict[tuple[str | None, str], np.ndarray] = {}
    for la in geography.authorities_on(geography.january(year)):
        i = world.row(la.old_la_code)
        present = has_phase[i]
        if la.old_la_code in TINY_PHASES:
            present = np.array([name.lower() in TINY_PHASES[la.old_la_code] for name, _, _ in PHASES])
        shares = np.array([share for _, share, _ in PHASES]) * present
        by_phase = rng.multinomial(
            int(world.value(world.pupils, la.old_la_code, year)), shares / shares.sum()
        )
        ethnic = np.append(MINORITY_SHARES / MINORITY_SHARES.sum() * (1 - white_british[i]), white_british[i])
        other_language = float(np.clip(0.85 * (1 - white_british[i]) - 0.03, 0.01, 0.85))
        languages = np.array([1 - other_language - 0.004, other_language, 0.004])
        for (phase, _, _), total in zip(PHASES, by_phase, strict=True):
            if total:
                by_ethnicity = rng.multinomial(total, rng.dirichlet(ethnic * 300))
                block = np.concatenate([[total], by_ethnicity, rng.multinomial(total, languages)])
                for key in ((la.old_la_code, phase), (la.region_code, phase), (None, phase)):
                    counts[key] = counts.get(key, 0) + block
    return counts


def _pupil_frame(year: int, counts: dict[tuple[str | None, str], np.ndarray]) -> pl.DataFrame:
    """One year's rows: per geography and phase (and the `Total` phase), the all-pupils row, the
    ethnicity rows and the first-language rows."""
    ethnicity_labels = ("Total", *PUPIL_ETHNICITIES, *("Total",) * len(LANGUAGES))
    language_labels = (*("Total",) * (1 + len(PUPIL_ETHNICITIES)), *LANGUAGES)
    geos, phases, blocks = [], [], []
    for place in ees.geographies(geography.january(year)):
        key = place.la.old_la_code if place.la else (place.region.code if place.region else None)
        present = {phase: counts[(key, phase)] for phase, _, _ in PHASES if (key, phase) in counts}
        geo = (
            place.level,
            place.region.name if place.region else None,
            place.region.code if place.region else None,
            place.la.old_la_code if place.la else None,
            place.la.la_name if place.la else None,
            place.la.new_la_code if place.la else None,
        )
        for phase, block in [*present.items(), ("Total", sum(present.values()))]:
            geos.append(geo)
            phases.append(phase)
            blocks.append(block)
    headcounts = np.vstack(blocks)
    per_block = headcounts.shape[1]
    rows = headcounts.size
    totals = np.repeat(headcounts[:, 0], per_block).tolist()
    level, *places = zip(*geos, strict=True)
    place_columns = ("region_name", "region_code", "old_la_code", "la_name", "new_la_code")
    return pl.DataFrame(
        {
            "time_period": [geography.academic_year(year)] * rows,
            "time_identifier": ["Academic year"] * rows,
            "geographic_level": _repeat(level, per_block),
            "country_code": [ees.COUNTRY[0]] * rows,
            "country_name": [ees.COUNTRY[1]] * rows,
            **{name: _repeat(values, per_block) for name, values in zip(place_columns, places, strict=True)},
            "phase_type_grouping": _repeat(phases, per_block),
            "ethnicity": list(ethnicity_labels) * len(blocks),
            "language": list(language_labels) * len(blocks),
            "headcount": formats.counts_text(headcounts.ravel()),
            "percent_of_pupils": [
                _percent_of_pupils(count, total)
                for count, total in zip(headcounts.ravel().tolist(), totals, strict=True)
            ],
        },
        schema=dict.fromkeys(PUPIL_COLUMNS, pl.String),
    )


def _pupil_frames(world: World, scale: int) -> Iterator[pl.DataFrame]:
    """The file's years, newest first, each in a shuffled row order as published."""
    rng = rng_for(world.seed, "pupils")
    london = np.array([geography.first_row(p).region_code == "E12000007" for p in world.places])
    noise = rng.normal(0, 0.08, len(world.places))
    white_british = np.clip(0.8 - 0.5 * london - 0.15 * world.traits.deprivation + noise, 0.08, 0.97)
    has_phase = rng.random((len(world.places), len(PHASES))) < np.array([presence for *_, presence in PHASES])
    has_phase[:, 1:3] = True  # every LA has primary and secondary schools
    for year in reversed(geography.extended_years(2016, 2022, scale)):
        frame = _pupil_frame(year, _pupil_counts(world, year, rng, white_british, has_phase))
        yield frame[rng.permutation(frame.height)]


def write_pupils(world: World, raw_dir: Path, scale: int) -> list[Path]:
    """`spc_pupils_ethnicity_and_language_201516-202122.csv.gz` and its `.meta.csv` (EES metadata)."""
    folder = raw_dir / "national" / "pupils"
    name = "spc_pupils_ethnicity_and_language_201516-202122.csv.gz"
    data = formats.write_gzipped_csv(folder / name, _pupil_frames(world, scale), line_end="\n")
    meta = folder / "spc_pupils_ethnicity_and_language.meta.csv"
    meta.write_bytes((formats.BOM + PUPILS_META).encode("utf-8"))
    return [data, meta]


# -- suspensions and permanent exclusions ------------------------------------------------------------------

EXCLUSION_COLUMNS = tuple(
    "time_identifier,time_period,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,school_type,num_schools,headcount,perm_excl,perm_excl_rate,"
    "suspension,susp_rate,one_plus_susp,one_plus_susp_rate".split(",")
)
# School type: share of pupils, pupils per school, permanent exclusion and suspension rates per pupil.
SCHOOL_TYPES = (
    ("state-funded primary", 0.53, 280, 0.0002, 0.015),
    ("state-funded secondary", 0.44, 1000, 0.0022, 0.12),
    ("special", 0.018, 110, 0.0008, 0.15),
)
INNER_LONDON = ("E13000001", "Inner London")
OUTER_LONDON = ("E13000002", "Outer London")
EXCLUSIONS_TREND = {2016: 0.9, 2019: 1.0, 2020: 0.7, 2021: 0.6, 2022: 1.1, 2023: 1.35}


def _rate(count: int, headcount: int) -> str:
    return "z" if headcount == 0 else formats.plain_number(round(100 * count / headcount, 5), 5)


def _exclusions_region(la) -> tuple[str, str]:
    """The region an LA is reported under: London splits into Inner and Outer London (E13 codes)."""
    if la.region_code == "E12000007":
        return INNER_LONDON if la.lait_region == "Inner London" else OUTER_LONDON
    return la.region_code, la.region_name


def write_exclusions(world: World, raw_dir: Path, scale: int) -> Path:
    """`national/exclusions/exc_nat_region_la_fy.csv`: suspensions and exclusions by LA and school type."""
    rng = rng_for(world.seed, "exclusions")
    rows = []
    years = geography.extended_years(2016, 2023, scale)
    types = (*(school_type for school_type, *_ in SCHOOL_TYPES), "Total")
    for year in years:
        trend = level(EXCLUSIONS_TREND, year)
        las = geography.authorities_on(geography.summer(year))
        # In the first year a couple of LAs report schools but no pupils, as new LAs did in 2008/09.
        closed = (
            set(rng.choice([la.old_la_code for la in las], size=2, replace=False).tolist())
            if year == years[0]
            else set()
        )
        by_la: dict[tuple[str, str], np.ndarray] = {}
        for la in las:
            pupils = world.value(world.pupils, la.old_la_code, year)
            severity = 0.6 + 0.8 * world.traits.deprivation[world.row(la.old_la_code)]
            for school_type, share, size, permanent, suspension in SCHOOL_TYPES:
                if school_type not in TINY_PHASES.get(la.old_la_code, (school_type,)):
                    continue
                headcount = 0 if la.old_la_code in closed else int(pupils * share)
                perm = int(rng.binomial(headcount, min(1.0, permanent * trend * severity)))
                susp = int(rng.poisson(headcount * suspension * trend * severity))
                one_plus = min(susp, int(rng.poisson(susp * 0.55)))
                by_la[(la.old_la_code, school_type)] = np.array(
                    [max(1, round(pupils * share / size)), headcount, perm, susp, one_plus]
                )
            by_la[(la.old_la_code, "Total")] = sum(
                by_la[(la.old_la_code, t)] for t in types[:-1] if (la.old_la_code, t) in by_la
            )
        groups = [("National", None, None, las)]
        for region in sorted({_exclusions_region(la) for la in las}):
            groups.append(("Regional", region, None, [la for la in las if _exclusions_region(la) == region]))
        groups += [("Local authority", _exclusions_region(la), la, [la]) for la in las]
        period_rows = []
        for level_name, region, la, members in groups:
            for school_type in types:
                parts = [
                    by_la[(m.old_la_code, school_type)]
                    for m in members
                    if (m.old_la_code, school_type) in by_la
                ]
                if not parts:
                    continue
                schools, headcount, perm, susp, one_plus = (int(v) for v in sum(parts))
                period_rows.append(
                    [
                        "Academic year",
                        geography.academic_year(year),
                        level_name,
                        *ees.COUNTRY,
                        region[0] if region else None,
                        region[1] if region else None,
                        la.old_la_code if la else None,
                        la.new_la_code if la else None,
                        la.la_name if la else None,
                        school_type,
                        schools,
                        headcount,
                        perm,
                        _rate(perm, headcount),
                        susp,
                        _rate(susp, headcount),
                        one_plus,
                        _rate(one_plus, headcount),
                    ]
                )
        rows += [period_rows[k] for k in rng.permutation(len(period_rows))]
    path = raw_dir / "national" / "exclusions" / "exc_nat_region_la_fy.csv"
    return formats.write_csv(path, EXCLUSION_COLUMNS, rows, bom=True, line_end="\r\n")


# -- KS4 by pupil characteristics ----------------------------------------------------------------------------

KS4_COLUMNS = tuple(
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,version,school_characteristic,breakdown,gender,ethnic_major,"
    "free_school_meals,sen_status,sen_description,disadvantage,first_language,t_schools,t_pupils,"
    "t_att8,avg_att8_unrounded,avg_att8,t_entbasics,pt_entbasics,t_l2basics_95,pt_l2basics_95,"
    "t_l2basics_94,pt_l2basics_94,t_ebacc_e_ptq_ee,pt_ebacc_e_ptq_ee,t_ebacc_95,pt_ebacc_95,"
    "t_ebacc_94,pt_ebacc_94,t_ebaccaps,avg_ebaccaps,t_inp8calc,t_p8score,avg_p8score,p8score_ci_low,"
    "p8score_ci_upp".split(",")
)
KS4_YEAR = 2019
SEN_STATUSES = ("SEN Supp", "No SEN", "SEN State EHC")
GENDERS = ("Total", "Boys", "Girls")
# Shares achieving at an Attainment 8 score of 47: English & maths entered, grade 5+ (95) and 4+ (94) in
# both, EBacc entered, EBacc at 5+ and at 4+.
ACHIEVED_AT_47 = np.array([0.97, 0.43, 0.65, 0.4, 0.17, 0.25])


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    """Totals of pupil groups within one LA: counts add up, the school count is the LA's (the largest)."""
    combined = sum(parts)
    combined[0] = max(part[0] for part in parts)
    return combined


def _ks4_groups(world: World, place: str, rng: np.random.Generator) -> dict[tuple[str, str], np.ndarray]:
    """Totals for each (gender, SEN status) of one LA: schools, pupils, score sums and counts achieving."""
    cohort = world.value(world.pupils, place, KS4_YEAR) * 0.068
    schools = max(1, round(cohort / 170))
    attainment = float(world.traits.attainment[world.row(place)])
    means = {
        "SEN Supp": (
            world.outcome("attainment8_support", place, KS4_YEAR),
            world.outcome("progress8_support", place, KS4_YEAR),
            0.105,
        ),
        "No SEN": (
            50.2 + 3 * attainment + rng.normal(0, 1),
            0.08 + 0.2 * attainment + rng.normal(0, 0.08),
            0.857,
        ),
        "SEN State EHC": (
            world.outcome("attainment8_ehcp", place, KS4_YEAR),
            world.outcome("progress8_ehcp", place, KS4_YEAR),
            0.038,
        ),
    }
    base_logits = np.log(ACHIEVED_AT_47 / (1 - ACHIEVED_AT_47))
    groups = {}
    for status, (att8, p8, share) in means.items():
        pupils = max(2, round(cohort * share))
        boys = round(pupils * (0.64 if status != "No SEN" else 0.49))
        girls = pupils - boys
        # Girls score higher; the gap is split so the pooled mean is the LA's published mean.
        for gender, n, score in (
            ("Boys", boys, att8 - 3 * girls / pupils),
            ("Girls", girls, att8 + 3 * boys / pupils),
        ):
            score = max(1.0, score)
            progress = p8 + (score - att8) / 15
            achieved = rng.binomial(n, 1 / (1 + np.exp(-(base_logits + (score - 47) / 12))))
            p8_pupils = max(1, round(n * 0.95))
            groups[(gender, status)] = np.array(
                [
                    schools,
                    n,
                    round(score * n, 2),
                    *achieved,
                    round(score / 11 * n, 2),
                    p8_pupils,
                    round(progress * p8_pupils, 3),
                ],
                dtype=float,
            )
        groups[("Total", status)] = _combine([groups[("Boys", status)], groups[("Girls", status)]])
    return groups


def _ks4_values(totals: np.ndarray) -> list:
    """The indicator cells from a group's totals: counts, unrounded and rounded means, percentages, CIs."""
    schools, pupils, att8, entries, l2_95, l2_94, ebacc_entered, ebacc_95, ebacc_94, ebacc_points, p8_pupils, p8_total = (
        totals.tolist()
    )  # fmt: skip
    avg_p8 = p8_total / p8_pupils
    half_width = 1.96 * 1.2 / math.sqrt(p8_pupils)

    def share(count: float) -> float:
        return round(100 * count / pupils, 1)

    return [
        int(schools),
        int(pupils),
        round(att8, 2),
        att8 / pupils,
        round(att8 / pupils, 1),
        int(entries),
        share(entries),
        int(l2_95),
        share(l2_95),
        int(l2_94),
        share(l2_94),
        int(ebacc_entered),
        share(ebacc_entered),
        int(ebacc_95),
        share(ebacc_95),
        int(ebacc_94),
        share(ebacc_94),
        round(ebacc_points, 2),
        round(ebacc_points / pupils, 2),
        int(p8_pupils),
        round(p8_total, 3),
        _hundredths(avg_p8),
        _hundredths(avg_p8 - half_width),
        _hundredths(avg_p8 + half_width),
    ]


def _hundredths(value: float) -> float:
    """Rounded to 2 dp, with -0.0 written as 0."""
    return round(value, 2) + 0.0


def write_ks4(world: World, raw_dir: Path) -> Path:
    """`201819_LA_characteristics_data_including_sen_description.xlsx`: SEN status rows and the Total rows."""
    rng = rng_for(world.seed, "ks4")
    las = [
        la for la in geography.authorities_on(geography.summer(KS4_YEAR)) if la.old_la_code not in TINY_PLACES
    ]
    by_la = {la.old_la_code: _ks4_groups(world, la.old_la_code, rng) for la in las}

    def pooled(codes: list[str]) -> dict[tuple[str, str], np.ndarray]:
        return {key: sum(by_la[c][key] for c in codes) for key in by_la[codes[0]]}

    places: list[tuple[list, dict]] = [([None, None, None, None, None], pooled(list(by_la)))]
    for region in geography.REGIONS:
        members = [la for la in las if la.region_code == region.code]
        places.append(
            ([region.code, region.name, None, None, None], pooled([la.old_la_code for la in members]))
        )
        if region.name == "London":
            for part in ("Inner London", "Outer London"):
                codes = [la.old_la_code for la in members if la.lait_region == part]
                places.append(([region.code, part, None, None, None], pooled(codes)))
    for la in las:
        region_name = la.lait_region if la.region_code == "E12000007" else la.region_name
        places.append(
            ([la.region_code, region_name, la.number, la.new_la_code, la.la_name], by_la[la.old_la_code])
        )

    rows = []
    for geo, groups in places:
        level = "National" if geo[0] is None else ("Regional" if geo[2] is None else "Local authority")
        prefix = [201819, "Academic year", level, *ees.COUNTRY, *geo, "Revised", "State-funded schools (LA)"]
        for gender in GENDERS:
            for status in SEN_STATUSES:
                filters = ["SEN status", gender, "Total", "Total", status, "Total", "Total", "Total"]
                rows.append(prefix + filters + _ks4_values(groups[(gender, status)]))
        for gender in ("Boys", "Girls", "Total"):
            described = {
                "Any SEN": _combine([groups[(gender, "SEN Supp")], groups[(gender, "SEN State EHC")]]),
                "No identified SEN": groups[(gender, "No SEN")],
            }
            for description, totals in described.items():
                filters = ["Total", gender, "Total", "Total", "Total", description, "Total", "Total"]
                rows.append(prefix + filters + _ks4_values(totals))
        for gender in ("Boys", "Girls", "Total"):
            everyone = _combine([groups[(gender, status)] for status in SEN_STATUSES])
            rows.append(
                prefix
                + ["Total", gender, "Total", "Total", "Total", "Total", "Total", "Total"]
                + _ks4_values(everyone)
            )
    path = raw_dir / "national" / "ks4" / "201819_LA_characteristics_data_including_sen_description.xlsx"
    return formats.write_table_workbook(path, "Sheet1", KS4_COLUMNS, rows, creator="HAMILTON, Liam")
