"""LAIT files: the long data set (`bds_long_0.parquet`), its data dictionary, the LA code list and the two
statistical-neighbour workbooks, in the layouts the Local Authority Interactive Tool publishes.

LAIT quirks reproduced: values are text (`-` when missing, some in 17-digit or scientific form), England is
LA 970 and regions 980-990 (987/988 Inner/Outer London, published for outcome measures only), the `Region`
of England and regions is the text `NA`, `Data item` is filled only on the oldest year's rows, abolished LAs
stay in the file with `-`, regional appeal rates are unrounded, and LA names have LAIT's own spellings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from demo import formats, geography
from demo.geography import LocalAuthority
from demo.lait_measures import MEASURES, LaitMeasure
from demo.world import TINY_PLACES, World, rng_for

# LAIT spells a few LAs differently from the LA lookup.
LAIT_NAMES = {
    "810": "Kingston Upon Hull, City of",
    "822": "Bedford Borough",
    "835": "Dorset (Pre LG)",
    "836": "Poole (Pre LG)",
    "837": "Bournemouth (Pre LG)",
    "840": "Durham",
    "884": "Herefordshire",
}
# In LAIT's LA list a successor follows its predecessor rather than its alphabetical place.
LISTED_AFTER = {"909": ("942", "943"), "928": ("940", "941"), "835": ("838",)}

PARQUET_SCHEMA = pa.schema(
    [
        ("Short Desc", pa.string()),
        ("Data item", pa.string()),
        ("Years", pa.string()),
        ("LA and Regions", pa.string()),
        ("Values", pa.string()),
        ("LA Number", pa.float64()),
        ("Region", pa.string()),
    ]
)

DICTIONARY_COLUMNS = tuple(
    "Measure_code,Topic,Measure,Chart_title,Measure_short,Polarity,y_axis_name,state_funded_flag,"
    "Table_status,Description,Last Update,Next Update,Data Owner (DO) /Supplier and Contact Details,"
    "Methodology,Hyperlink(s),dps,Year_Type,No_Quartile".split(",")
)


def lait_name(la: LocalAuthority) -> str:
    """The LA's name as LAIT spells it."""
    return LAIT_NAMES.get(la.old_la_code, la.la_name)


def _geographies() -> list[tuple[str, int, str, list[str]]]:
    """LAIT's rows for one measure-year: (name, number, region text, places) - LAs by name, then aggregates."""
    rows = sorted(
        (lait_name(la), la.number, la.lait_region, [la.old_la_code])
        for la in map(geography.latest_row, geography.places())
    )
    everywhere = list(geography.places())
    rows.append(("England", geography.ENGLAND_NUMBER, "NA", everywhere))
    for region in sorted(geography.REGIONS, key=lambda r: r.lait_number):
        members = [p for p in everywhere if geography.first_row(p).region_code == region.code]
        rows.append((region.lait_name, region.lait_number, "NA", members))
        if region.name == "London":
            for label, number in (
                ("Inner", geography.INNER_LONDON_NUMBER),
                ("Outer", geography.OUTER_LONDON_NUMBER),
            ):
                part = [p for p in members if geography.first_row(p).lait_region == f"{label} London"]
                rows.append((f"London ({label})", number, "NA", part))
    return rows


def _value(
    measure: LaitMeasure, world: World, number: int, places: list[str], year: int
) -> tuple[float | None, int | None]:
    """The value of one LAIT cell and the decimal places it is published to."""
    day = measure.reference_day(year)
    live = [p for p in places if geography.in_force(p, day)]
    if number < geography.ENGLAND_NUMBER:
        if not live or (measure.outcome and live[0] in TINY_PLACES):
            return None, measure.dps
        return measure.compute(world, live, year), measure.dps
    if number in (geography.INNER_LONDON_NUMBER, geography.OUTER_LONDON_NUMBER) and not measure.sub_regions:
        return None, measure.dps
    if number == geography.ENGLAND_NUMBER and measure.aggregate_dps is None:
        return measure.compute(world, live, year), measure.dps
    return measure.compute(world, live, year), measure.aggregate_dps


def write_long_data(world: World, path: Path, scale: int) -> Path:
    """`bds_long_0.parquet`: one row per measure, year and LA/region, values as LAIT's text."""
    columns: dict[str, list] = {field.name: [] for field in PARQUET_SCHEMA}
    rows = _geographies()
    for measure in MEASURES:
        rng = rng_for(world.seed, "lait", measure.short)
        for year in geography.extended_years(measure.first_year, measure.last_year, scale):
            for name, number, region, places in rows:
                value, dps = _value(measure, world, number, places, year)
                if (
                    value is not None
                    and number < geography.ENGLAND_NUMBER
                    and measure.outcome
                    and rng.random() < 0.01
                ):
                    value = None  # the odd suppressed LA value
                if dps is None:
                    text = "-" if value is None else formats.long_form(value) or formats.plain_number(value)
                else:
                    text = formats.lait_text(value, dps, rng)
                columns["Short Desc"].append(measure.short)
                columns["Data item"].append(measure.data_item if year <= 2016 else None)
                columns["Years"].append(str(year))
                columns["LA and Regions"].append(name)
                columns["Values"].append(text)
                columns["LA Number"].append(float(number))
                columns["Region"].append(region)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=PARQUET_SCHEMA), path, row_group_size=32768, compression="snappy")
    return path


def _dictionary_cell(value: object) -> str:
    """A cell as R's write.csv wrote LAIT's dictionary: strings quoted, numbers and NA bare."""
    if value is None:
        return "NA"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace('"', '""') + '"'


def write_data_dictionary(path: Path) -> Path:
    """`lait_data_dictionary.csv`: one row per generated measure, with polarity, dps and year type."""
    lines = [",".join(_dictionary_cell(column) for column in DICTIONARY_COLUMNS)]
    for measure in MEASURES:
        e = measure.entry
        row = (
            e.measure_code, "Children with SEN", e.measure, e.chart_title, measure.short, e.polarity,
            e.y_axis_name, e.state_funded_flag, e.table_status, e.description, e.last_update, e.next_update,
            "DfE", e.methodology, e.hyperlink, e.dps, e.year_type, e.no_quartile,
        )  # fmt: skip
        lines.append(",".join(_dictionary_cell(cell) for cell in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _la_type(place: str) -> str:
    """LAIT's LA type: inner/outer London borough, metropolitan district, unitary or shire county."""
    la = geography.first_row(place)
    if la.entity_code == "E09":
        return "ILB" if la.lait_region == "Inner London" else "OLB"
    return {"E08": "MD", "E06": "UA", "E10": "SC"}[la.entity_code]


def write_la_code_list(path: Path) -> Path:
    """`la_code_list.xlsx`: LAIT's LA list (number, name, region, type), then England and the regions."""
    named = sorted(geography.places(), key=lambda p: lait_name(geography.latest_row(p)))
    followers = {s for successors in LISTED_AFTER.values() for s in successors}
    ordered: list[str] = []
    for place in named:
        if place in followers:
            continue
        ordered.append(place)
        ordered.extend(LISTED_AFTER.get(place, ()))
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    aptos, arial = Font(name="Aptos Narrow", size=11), Font(name="Arial", size=10)
    sheet.append(["LA Number", "LA Name", "Region", "Type"])
    for place in ordered:
        la = geography.latest_row(place)
        sheet.append([la.number, lait_name(la), la.lait_region, _la_type(place)])
    sheet.append([geography.ENGLAND_NUMBER, "England", "NA", "NA"])
    for region in sorted(geography.REGIONS, key=lambda r: r.lait_number):
        sheet.append([region.lait_number, region.lait_name, "NA", "NA"])
        if region.name == "London":
            sheet.append([geography.INNER_LONDON_NUMBER, "London (Inner)", "NA", "NA"])
            sheet.append([geography.OUTER_LONDON_NUMBER, "London (Outer)", "NA", "NA"])
    sheet.append([1000, "England (discontinued)", "NA", "NA"])
    for row in sheet.iter_rows():
        for cell in row:
            cell.font = arial if cell.row > 1 and cell.column <= 2 else aptos
    sheet.column_dimensions["B"].width = 21.54296875
    sheet.column_dimensions["C"].width = 26.54296875
    return formats.save_workbook(workbook, path, creator="STOKER, Andrea")


# -- statistical neighbours ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Vintage:
    """One edition of the SN benchmarking tool: when it was drawn up and how it spells closeness."""

    year: int
    published: dt.date
    labels: tuple[str, ...]  # extremely, very, close, somewhat, not
    cut_points: tuple[float, ...]  # distance quantiles separating the labels


VINTAGE_2021 = Vintage(
    year=2021,
    published=dt.date(2021, 4, 1),
    labels=("Extremely Close", "Very Close", "Close", "Somewhat close", "Not Close"),
    cut_points=(0.06, 0.65, 0.84, 0.93),
)
VINTAGE_2025 = Vintage(
    year=2025,
    published=dt.date(2025, 5, 1),
    labels=("Extremely close", "Very close", "Close", "Somewhat close", "Not close"),
    cut_points=(0.01, 0.53, 0.86, 0.96),
)
SN_COLUMN_WIDTHS = {"A": 9.140625, "B": 28.5703125, "C": 12.0, "D": 6.28515625, "E": 25.0}
SN_HEADER = ["LA num", "LA Name", "LA number", "GOInd", "GOReg"] + [
    h for n in range(1, 11) for h in (f"SN{n}", "SNP")
]


def _profiles(world: World, vintage: Vintage) -> dict[str, np.ndarray]:
    """What the SN model compares: deprivation, size and urbanity, as measured at the vintage."""
    rng = rng_for(world.seed, "sn profile", vintage.year)
    urban = {"E09": 1.0, "E08": 0.8, "E06": 0.4, "E10": 0.0}
    return {
        place: np.array(
            [
                3.0 * world.traits.deprivation[i] + rng.normal(0, 0.08),
                0.8 * np.log(world.traits.pupils_2016[i]),
                1.2 * urban[geography.first_row(place).entity_code],
            ]
        )
        for i, place in enumerate(world.places)
    }


def _neighbours(place: str, pool: list[str], profiles: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    """The 10 nearest places in the pool, nearest first, with their distances."""
    distances = sorted(
        (float(np.linalg.norm(profiles[place] - profiles[other])), int(other), other)
        for other in pool
        if other != place
    )
    return [(other, distance) for distance, _, other in distances[:10]]


def _label(distance: float, cuts: np.ndarray, labels: tuple[str, ...]) -> str:
    return labels[int(np.searchsorted(cuts, distance, side="left"))]


def _sn_rows(world: World, vintage: Vintage) -> tuple[list[list], list[list]]:
    """Rows of a vintage's workbook: LAs current at publication, and the abolished LAs' stale groups."""
    current_profiles = _profiles(world, vintage)
    old_profiles = _profiles(world, VINTAGE_2021)
    pool = [p for p in world.places if geography.in_force(p, vintage.published)]
    groups = {p: _neighbours(p, pool, current_profiles) for p in pool}
    distances = np.array([d for group in groups.values() for _, d in group])
    cuts = np.quantile(distances, vintage.cut_points)

    def row(
        place: str, group: list[tuple[str, float]] | None, labels: tuple[str, ...], cut: np.ndarray
    ) -> list:
        la = geography.latest_row(place)
        region = geography.REGION_BY_CODE[la.region_code]
        go_region = f"London ({la.lait_region.split()[0]})" if region.name == "London" else region.lait_name
        cells: list = [la.number, lait_name(la), la.number, region.go_index, go_region]
        if group is None:
            cells += ["-"] * 20
        else:
            for other, distance in group:
                cells += [int(other), _label(distance, cut, labels)]
        return cells

    later = [p for p in world.places if geography.first_row(p).date_of_operation > vintage.published]
    abolished = [p for p in world.places if not geography.in_force(p, vintage.published) and p not in later]
    # An abolished LA keeps the group it had when it ended, in the 2021 spelling.
    old_cuts = np.quantile(distances, VINTAGE_2021.cut_points)
    old_rows = []
    for place in sorted(abolished, key=lambda p: (geography.latest_row(p).date_of_termination, int(p))):
        last_day = geography.latest_row(place).date_of_termination
        old_pool = [p for p in world.places if geography.in_force(p, last_day)]
        old_rows.append(row(place, _neighbours(place, old_pool, old_profiles), VINTAGE_2021.labels, old_cuts))
    current = [row(p, groups[p], vintage.labels, cuts) for p in pool] + [
        row(p, None, vintage.labels, cuts) for p in later
    ]
    return current, old_rows


def _style_sn_sheet(sheet, text_columns: bool) -> None:
    """Arial 10 throughout, centred title rows, LAIT's column widths; 2025 formats neighbour columns as text."""
    arial = Font(name="Arial", size=10)
    for row in sheet.iter_rows(min_row=1, max_row=sheet.max_row, max_col=26):
        for cell in row:
            cell.font = arial
            if cell.column >= 6 and text_columns:
                cell.number_format = "@"
            if cell.row <= 3:
                cell.alignment = Alignment(horizontal="center")
            elif cell.column in (2, *range(6, 26)):
                cell.alignment = Alignment(horizontal="left")
            elif cell.column != 5:
                cell.alignment = Alignment(horizontal="right")
    for column, width in SN_COLUMN_WIDTHS.items():
        sheet.column_dimensions[column].width = width
    for index in range(6, 27):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 15.140625 if index % 2 == 1 else 9.140625


def _write_sn_workbook(world: World, vintage: Vintage, path: Path) -> Path:
    """An SN workbook: the title rows, current LAs, then "Old SNs:" and the abolished LAs' last groups.

    2021 lists LAs by number (LAs created later show `-`); 2025 lists them by official name, formats the
    neighbour columns as text and has formatted empty rows below.
    """
    current, old_rows = _sn_rows(world, vintage)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "LA SN Groups"
    sheet.append(["A", "B", "C", "D", "E", *range(3, 23)])
    sheet.append(list(range(1, 26)))
    sheet.append(SN_HEADER)
    if vintage is VINTAGE_2021:
        current = sorted(current, key=lambda cells: cells[0])
    else:
        current = sorted(current, key=lambda cells: geography.latest_row(str(cells[0])).la_name)
    for cells in [*current, [], [None, "Old SNs:"], [], *old_rows]:
        sheet.append(cells)
    if vintage is VINTAGE_2025:
        for _ in range(5):
            sheet.append([None] * 26)
    _style_sn_sheet(sheet, text_columns=vintage is VINTAGE_2025)
    return formats.save_workbook(workbook, path, creator="STOKER, Andrea")


def write_sn_2021(world: World, path: Path) -> Path:
    """`sn_april_2021.xlsx`: the April 2021 statistical neighbour groups."""
    return _write_sn_workbook(world, VINTAGE_2021, path)


def write_sn_2025(world: World, path: Path) -> Path:
    """`sn_may_2025.xlsx`: the May 2025 statistical neighbour groups."""
    return _write_sn_workbook(world, VINTAGE_2025, path)
