"""The demo data generator writes the real DfE files' formats, deterministically, with consistent numbers."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from importlib.resources import files
from pathlib import Path

import openpyxl
import polars as pl
import pyarrow.parquet as pq
import pytest

from demo.generate import generate_demo, main

REAL = Path(__file__).parents[2] / "shared" / "data"
needs_real_data = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"published DfE files not found at {REAL} (they live outside the project)"
)
EHCP_ZIP = "national/ehcp/education-health-and-care-plans_2025.zip"
REAL_EHCP_ZIP = REAL / "dfe/ehcp-plans-2025/education-health-and-care-plans_2025.zip"
EHCP_MEMBERS = ("data/caseload.csv", "data/newplans.csv", "data/requests.csv", "data/timeliness_20_week.csv")
LAIT = "national/lait"
XLSX = ("sn_may_2025.xlsx", "sn_april_2021.xlsx", "la_code_list.xlsx")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The demo drop-zone generated once with the default seed at scale 1, and the files written."""
    raw_dir = tmp_path_factory.mktemp("raw")
    return raw_dir, generate_demo(raw_dir)


def first_line(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0]


def member(zip_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.read(name)


def sheet_rows(path: Path, count: int | None = None) -> tuple[list[str], list[tuple]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheet = workbook.worksheets[0]
    return workbook.sheetnames, [tuple(row) for row in sheet.iter_rows(max_row=count, values_only=True)]


def ehcp_frame(raw_dir: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(member(raw_dir / EHCP_ZIP, name)), infer_schema=False)


def test_same_seed_writes_identical_files_through_the_command_line(demo, tmp_path: Path) -> None:
    raw_dir, written = demo
    main([str(tmp_path), "--seed", "20241"])
    again = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert again == sorted(p.relative_to(raw_dir) for p in written)
    # Same data in the workbooks and the parquet file...
    for name in XLSX:
        assert sheet_rows(tmp_path / LAIT / name) == sheet_rows(raw_dir / LAIT / name), name
    parquet = f"{LAIT}/bds_long_0.parquet"
    assert pq.read_table(tmp_path / parquet).equals(pq.read_table(raw_dir / parquet))
    # ...and, with archive timestamps fixed, the same bytes in every file.
    for relative in again:
        assert (tmp_path / relative).read_bytes() == (raw_dir / relative).read_bytes(), relative


def test_another_seed_gives_other_numbers(demo, tmp_path: Path) -> None:
    raw_dir, _ = demo
    generate_demo(tmp_path, seed=7, with_local=False)  # the national files: the local extracts take ~55% of the time
    assert member(tmp_path / EHCP_ZIP, EHCP_MEMBERS[-1]) != member(raw_dir / EHCP_ZIP, EHCP_MEMBERS[-1])


def test_files_are_written_where_the_pipeline_expects_them(demo) -> None:
    raw_dir, written = demo
    expected = {
        "reference/la_lookup.csv",
        *(f"{LAIT}/{name}" for name in ("bds_long_0.parquet", "lait_data_dictionary.csv", *XLSX)),
        EHCP_ZIP,
        *(f"national/neet/UD_NEETNK_LA_dashboard_{year}_final.csv" for year in range(2022, 2026)),
        "national/pupils/spc_pupils_ethnicity_and_language_201516-202122.csv.gz",
        "national/pupils/spc_pupils_ethnicity_and_language.meta.csv",
        "national/exclusions/exc_nat_region_la_fy.csv",
        "national/ks4/201819_LA_characteristics_data_including_sen_description.xlsx",
    }
    names = {p.relative_to(raw_dir).as_posix() for p in written}
    national = {n for n in names if not n.startswith(("local/", "targets/"))}
    assert national == expected
    assert "targets/targets.csv" in names  # the demo owner's (invented) targets: the project ships none
    assert any(p.relative_to(raw_dir).as_posix().startswith("local/") for p in written)  # the monthly extracts
    assert all(p.stat().st_size > 0 for p in written)


# -- the real files' formats ------------------------------------------------------------------------------


@needs_real_data
@pytest.mark.real_data
@pytest.mark.parametrize(
    ("generated", "published"),
    [
        ("reference/la_lookup.csv", "reference/la_lookup.csv"),
        (f"{LAIT}/lait_data_dictionary.csv", "lait/lait_data_dictionary.csv"),
        *(
            (
                f"national/neet/UD_NEETNK_LA_dashboard_{y}_final.csv",
                f"dfe/neet-send/UD_NEETNK_LA_dashboard_{y}_final.csv",
            )
            for y in range(2022, 2026)
        ),
        ("national/exclusions/exc_nat_region_la_fy.csv", "dfe/exclusions/exc_nat_region_la_fy.csv"),
        (
            "national/pupils/spc_pupils_ethnicity_and_language.meta.csv",
            "dfe/school-pupils/spc_pupils_ethnicity_and_language.meta.csv",
        ),
    ],
)
def test_csv_header_matches_the_published_file(demo, generated: str, published: str) -> None:
    raw_dir, _ = demo
    # The first line's bytes: same columns in the same order, same BOM (or none), same quoting.
    assert first_line((raw_dir / generated).read_bytes()) == first_line((REAL / published).read_bytes())


@needs_real_data
@pytest.mark.real_data
def test_pupils_csv_header_matches_the_published_file(demo) -> None:
    raw_dir, _ = demo
    name = "spc_pupils_ethnicity_and_language_201516-202122.csv.gz"
    generated = gzip.decompress((raw_dir / "national/pupils" / name).read_bytes())
    assert first_line(generated) == first_line(
        gzip.decompress((REAL / "dfe/school-pupils" / name).read_bytes())
    )


@needs_real_data
@pytest.mark.real_data
@pytest.mark.parametrize("name", EHCP_MEMBERS)
def test_ehcp_release_files_match_the_published_headers(demo, name: str) -> None:
    raw_dir, _ = demo
    assert first_line(member(raw_dir / EHCP_ZIP, name)) == first_line(member(REAL_EHCP_ZIP, name))


@needs_real_data
@pytest.mark.real_data
def test_ehcp_release_members_are_a_subset_of_the_published_zip(demo) -> None:
    raw_dir, _ = demo
    with zipfile.ZipFile(raw_dir / EHCP_ZIP) as ours, zipfile.ZipFile(REAL_EHCP_ZIP) as theirs:
        assert set(ours.namelist()) <= set(theirs.namelist())


@needs_real_data
@pytest.mark.real_data
def test_lait_long_data_has_the_published_schema_geographies_and_years(demo) -> None:
    raw_dir, _ = demo
    ours = pq.read_table(raw_dir / LAIT / "bds_long_0.parquet")
    theirs = pq.read_table(REAL / "lait/bds_long_0.parquet")
    assert ours.schema == theirs.schema
    ours, theirs = pl.from_arrow(ours), pl.from_arrow(theirs)
    places = ["LA Number", "LA and Regions", "Region"]
    assert set(ours.select(places).unique().iter_rows()) == set(theirs.select(places).unique().iter_rows())
    for measure in ours["Short Desc"].unique():
        spelled = set(theirs.filter(pl.col("Short Desc") == measure)["Years"])
        assert set(ours.filter(pl.col("Short Desc") == measure)["Years"]) == spelled, measure


@needs_real_data
@pytest.mark.real_data
def test_lait_dictionary_has_the_published_columns(demo) -> None:
    raw_dir, _ = demo

    def columns(path: Path) -> list[str]:
        return next(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))

    assert columns(raw_dir / LAIT / "lait_data_dictionary.csv") == columns(
        REAL / "lait/lait_data_dictionary.csv"
    )


@needs_real_data
@pytest.mark.real_data
@pytest.mark.parametrize(
    ("name", "title_rows"), [("sn_may_2025.xlsx", 3), ("sn_april_2021.xlsx", 3), ("la_code_list.xlsx", 1)]
)
def test_lait_workbooks_have_the_published_layout(demo, name: str, title_rows: int) -> None:
    raw_dir, _ = demo
    sheets, rows = sheet_rows(raw_dir / LAIT / name)
    real_sheets, real_rows = sheet_rows(REAL / "lait" / name)
    assert sheets == real_sheets
    assert rows[:title_rows] == real_rows[:title_rows]
    # Same LAs in the same places, with the same names and regions (SN: number, name, number, GOInd, GOReg).
    assert [row[:5] for row in rows] == [row[:5] for row in real_rows]


@needs_real_data
@pytest.mark.real_data
def test_ks4_workbook_has_the_published_columns(demo) -> None:
    raw_dir, _ = demo
    name = "201819_LA_characteristics_data_including_sen_description.xlsx"
    sheets, rows = sheet_rows(raw_dir / "national/ks4" / name, count=1)
    real_sheets, real_rows = sheet_rows(REAL / "dfe/ks4-characteristics" / name, count=1)
    assert (sheets, rows) == (real_sheets, real_rows)


# -- quirks and consistency ------------------------------------------------------------------------------


def test_timeliness_csv_has_a_bom_crlf_and_unavailable_cells(demo) -> None:
    raw_dir, _ = demo
    data = member(raw_dir / EHCP_ZIP, "data/timeliness_20_week.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n")
    frame = ehcp_frame(raw_dir, "data/timeliness_20_week.csv")
    assert (
        (
            frame.select(
                pl.all().exclude("new_la_code", "old_la_code", "la_name", "region_code", "region_name")
            )
            == "x"
        )
        .to_numpy()
        .any()
    )
    assert "PC_plans_issued_20_weeks_ex" in frame.columns


def test_england_2024_timeliness_percentages_come_from_its_own_counts(demo) -> None:
    raw_dir, _ = demo
    frame = ehcp_frame(raw_dir, "data/timeliness_20_week.csv")
    england = frame.filter(
        (pl.col("time_period") == "2024")
        & (pl.col("geographic_level") == "National")
        & (pl.col("breakdown") == "All EHC plans issued")
    ).row(0, named=True)
    within, plans = int(england["plans_issued_within_20_weeks"]), int(england["plans_issued_den"])
    within_ex, plans_ex = int(england["plans_issued_20_weeks_ex"]), int(england["plans_issued_den_ex"])
    assert float(england["pc_plans_issued_within_20_weeks"]) == round(100 * within / plans, 1)
    assert float(england["PC_plans_issued_20_weeks_ex"]) == round(100 * within_ex / plans_ex, 1)
    assert 40 <= float(england["pc_plans_issued_within_20_weeks"]) <= 55


def test_regional_and_national_counts_are_sums_of_their_las(demo) -> None:
    raw_dir, _ = demo
    frame = ehcp_frame(raw_dir, "data/timeliness_20_week.csv").filter(pl.col("time_period") == "2024")
    counts = frame.with_columns(pl.col("plans_issued_den").replace("x", "0").cast(pl.Int64))
    by_level = counts.group_by("geographic_level", "breakdown").agg(pl.col("plans_issued_den").sum())
    totals = {
        (row["geographic_level"], row["breakdown"]): row["plans_issued_den"]
        for row in by_level.iter_rows(named=True)
    }
    for breakdown in ("All EHC plans issued", "Female", "age 5"):
        assert (
            totals[("National", breakdown)]
            == totals[("Regional", breakdown)]
            == totals[("Local authority", breakdown)]
        )


def test_every_la_in_the_reference_appears_in_lait(demo) -> None:
    raw_dir, _ = demo
    reference = files("pipelines").joinpath("reference", "english_las.csv").read_text(encoding="utf-8")
    las = {int(row["old_la_code"]) for row in csv.DictReader(reference.splitlines())}
    lait = pl.read_parquet(raw_dir / LAIT / "bds_long_0.parquet")
    assert las <= {int(number) for number in lait["LA Number"].unique()}
    assert len(las) == 158


def test_lait_values_are_text_with_the_published_quirks(demo) -> None:
    raw_dir, _ = demo
    values = pl.read_parquet(raw_dir / LAIT / "bds_long_0.parquet")["Values"]
    assert (values == "-").any()
    assert values.str.contains(r"^-?\d\.\d+E-\d$").any()  # 7.0000000000000007E-2
    assert values.str.contains(r"^\d+\.\d{15,}$").any()  # 9.8000000000000007
    assert values.filter(values != "-").cast(pl.Float64, strict=False).null_count() == 0


def test_lait_england_timeliness_is_the_release_figure(demo) -> None:
    raw_dir, _ = demo
    lait = pl.read_parquet(raw_dir / LAIT / "bds_long_0.parquet")
    lait_value = lait.filter(
        (pl.col("Short Desc") == "SEN_EHC_All_20wks")
        & (pl.col("Years") == "2024")
        & (pl.col("LA Number") == 970.0)
    )["Values"][0]
    release = ehcp_frame(raw_dir, "data/timeliness_20_week.csv").filter(
        (pl.col("time_period") == "2024")
        & (pl.col("geographic_level") == "National")
        & (pl.col("breakdown") == "All EHC plans issued")
    )["pc_plans_issued_within_20_weeks"][0]
    assert float(lait_value) == float(release)


def test_demo_la_timeliness_falls_sharply_in_2024(demo) -> None:
    raw_dir, _ = demo
    stockport = ehcp_frame(raw_dir, "data/timeliness_20_week.csv").filter(
        (pl.col("old_la_code") == "356") & (pl.col("breakdown") == "All EHC plans issued")
    )
    by_year = dict(
        zip(stockport["time_period"], stockport["PC_plans_issued_20_weeks_ex"].cast(pl.Float64), strict=True)
    )
    assert by_year["2024"] < by_year["2023"] - 20 and by_year["2022"] > 70


def test_pupil_totals_match_their_breakdowns(demo) -> None:
    raw_dir, _ = demo
    path = raw_dir / "national/pupils/spc_pupils_ethnicity_and_language_201516-202122.csv.gz"
    frame = pl.read_csv(path, infer_schema=False).with_columns(pl.col("headcount").cast(pl.Int64))
    la = frame.filter(
        (pl.col("old_la_code") == "356")
        & (pl.col("time_period") == "202122")
        & (pl.col("phase_type_grouping") == "Total")
    )
    total = la.filter((pl.col("ethnicity") == "Total") & (pl.col("language") == "Total"))["headcount"].item()
    assert la.filter(pl.col("ethnicity") != "Total")["headcount"].sum() == total
    assert la.filter(pl.col("language") != "Total")["headcount"].sum() == total


def test_neet_files_carry_send_columns_and_suppression(demo) -> None:
    raw_dir, _ = demo
    texts = [
        (raw_dir / f"national/neet/UD_NEETNK_LA_dashboard_{y}_final.csv").read_bytes()
        for y in range(2022, 2026)
    ]
    assert not any(text.startswith(b"\xef\xbb\xbf") for text in texts)
    frame = pl.read_csv(io.BytesIO(texts[-1]), infer_schema=False)
    assert {"NEET_NK_EHCP_percent", "NEET_NK_SENDsupport_percent", "cohort_EHCP_percent"} <= set(
        frame.columns
    )
    assert (frame["NEET_NK_quintile"] == "z").any()
    assert any(
        (pl.read_csv(io.BytesIO(text), infer_schema=False)["NEET_NK_SENDsupport_percent"] == "c").any()
        for text in texts
    )
