"""Readers on small hand-made files: every symbol, encodings, schema contract errors."""

from __future__ import annotations

import gzip
import io
import zipfile

import polars as pl
import pytest

from pipelines.errors import SourceFormatError, UnknownSourceError
from pipelines.ingest.ees import read_ees_csv
from pipelines.ingest.lait import read_lait_indicators
from pipelines.ingest.loader import plan_files
from pipelines.ingest.neighbours import read_statistical_neighbours, vintage_from_name
from pipelines.ingest.rawfile import RawFile, open_raw_files
from pipelines.ingest.sources import detect_source

HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "new_la_code,old_la_code,la_name,breakdown_topic,breakdown,plans_issued_den,plans_issued_den_ex,"
    "plans_issued_within_20_weeks,plans_issued_20_weeks_ex,pc_plans_issued_within_20_weeks,PC_plans_issued_20_weeks_ex"
)
GEO = "2024,Calendar year,Local authority,E92000001,England,E12000002,North West,E08000007,356,Stockport"


def timeliness_csv(cells: list[str], bom: bool = True, encoding: str = "utf-8") -> bytes:
    """A timeliness_20_week.csv for Stockport 2024: the first row the all-plans total, then age rows."""
    breakdowns = ["All EHC plans issued,All EHC plans issued"] + [f"Age,Age {i}" for i in range(1, len(cells))]
    rows = [HEADER] + [f"{GEO},{b},{c}" for b, c in zip(breakdowns, cells, strict=True)]
    text = "\n".join(rows) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def cells_by_value(frame: pl.DataFrame, measure: str) -> list[tuple]:
    return frame.filter(pl.col("measure") == measure).sort("source_row").select("value", "value_status").rows()


def test_every_symbol_becomes_value_and_status(tmp_path):
    symbols = ["12", "c", "x", "z", "low", "u", "-", "..", ":", "", "7.0000000000000007E-2", "9.8000000000000007"]
    cells = [f"{s},1,1,1,1,1" for s in symbols]
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(cells))
    frame = read_ees_csv(path)
    assert cells_by_value(frame, "plans_issued_den") == [
        (12.0, "ok"), (None, "suppressed"), (None, "unavailable"), (None, "not_applicable"), (None, "low"),
        (None, "low_reliability"), (None, "missing"), (None, "missing"), (None, "unavailable"), (None, "missing"),
        (0.07, "ok"), (9.8, "ok"),
    ]
    # Suppression never becomes 0
    assert frame.filter(pl.col("value_status") != "ok")["value"].null_count() == frame.filter(
        pl.col("value_status") != "ok").height


def test_long_frames_keep_text_as_categories_and_the_warehouse_as_text(tmp_path):
    """The long reader's text columns are categories (4 bytes a row, not 16); the raw table gets the
    same cells as VARCHAR, as it did when the reader returned text."""
    from pipelines.ingest.loader import connect_warehouse, ingest_paths

    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(["10,9,5,5,50,55.6", "c,x,1,2,3,4"]))
    frame = read_ees_csv(path)
    text = ["time_period", "geographic_level", "new_la_code", "la_name", "breakdown", "measure", "value_raw",
            "value_status"]
    assert {c: frame.schema[c] for c in text} == {c: pl.Categorical for c in text}
    con = connect_warehouse(tmp_path / "w.duckdb")
    try:
        assert [r.status for r in ingest_paths(con, [path])] == ["loaded"]
        types = dict(con.execute("select column_name, data_type from duckdb_columns() where schema_name = 'raw' "
                                 "and table_name = 'ehcp_timeliness'").fetchall())
        loaded = con.sql("select * exclude (source_file, file_sha256, release, loaded_at, release_order, "
                         "is_superseded) from raw.ehcp_timeliness").pl()
    finally:
        con.close()
    assert {c: types[c] for c in text} == {c: "VARCHAR" for c in text}
    expected = frame.with_columns(pl.col(text).cast(pl.String))
    assert loaded.sort("source_row", "measure").equals(expected.select(loaded.columns).sort("source_row", "measure"))


def test_alias_and_case_give_canonical_measure_names(tmp_path):
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    frame = read_ees_csv(path)
    assert "pc_plans_issued_20_weeks_ex" in frame["measure"].to_list()
    assert frame.filter(pl.col("measure") == "pc_plans_issued_20_weeks_ex")["value"].to_list() == [55.6]
    assert frame["new_la_code"].unique().to_list() == ["E08000007"]


def test_unknown_symbol_names_file_row_and_column(tmp_path):
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(timeliness_csv(["10,9,5,5,50,55.6", "10,9,five,5,50,55.6"]))
    with pytest.raises(SourceFormatError) as error:
        read_ees_csv(path)
    assert error.value.row == 3
    assert error.value.column == "plans_issued_within_20_weeks"
    assert "timeliness_20_week.csv" in str(error.value) and "'five'" in str(error.value)


def test_missing_required_column_is_named(tmp_path):
    path = tmp_path / "timeliness_20_week.csv"
    text = timeliness_csv(["10,9,5,5,50,55.6"]).decode("utf-8-sig").replace("PC_plans_issued_20_weeks_ex", "other")
    path.write_text(text)
    with pytest.raises(SourceFormatError, match="pc_plans_issued_20_weeks_ex"):
        read_ees_csv(path)


def test_utf8_without_bom_and_cp1252_with_warning(tmp_path, caplog):
    plain = tmp_path / "timeliness_20_week.csv"
    plain.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"], bom=False))
    assert read_ees_csv(plain).height == 6
    legacy = tmp_path / "requests.csv"
    text = timeliness_csv(["10,9,5,5,50,55.6"], bom=False).decode().replace("Stockport", "St\u00f6ckport")
    text = text.replace("plans_issued_den,", "requests_received_in_year,", 1)
    legacy.write_bytes(text.encode("cp1252"))
    frame = read_ees_csv(legacy)
    assert frame["la_name"].unique().to_list() == ["St\u00f6ckport"]
    assert "cp1252" in caplog.text


def test_gzip_and_zip_members_are_read_in_memory(tmp_path):
    data = timeliness_csv(["10,9,5,5,50,55.6"])
    gz = tmp_path / "timeliness_20_week.csv.gz"
    gz.write_bytes(gzip.compress(data))
    assert read_ees_csv(gz).height == 6
    release = tmp_path / "education-health-and-care-plans_2099.zip"
    with zipfile.ZipFile(release, "w") as archive:
        archive.writestr("data/timeliness_20_week.csv", data)
        archive.writestr("data-guidance/data-guidance.txt", "guidance")
        archive.writestr("supporting-files/other.csv", "a,b\n1,2\n")
    members = list(open_raw_files(release))
    assert [m.name for m in members] == [
        "education-health-and-care-plans_2099.zip!data/timeliness_20_week.csv",
        "education-health-and-care-plans_2099.zip!supporting-files/other.csv",
    ]
    assert {m.release for m in members} == {"education-health-and-care-plans_2099"}
    planned = plan_files([release])  # the unknown supporting file is listed, not an error
    assert [spec.table for _, spec, _ in planned if spec] == ["ehcp_timeliness"]
    [unknown] = [result for _, spec, result in planned if not spec]
    assert unknown.status == "unknown" and unknown.message.startswith(
        "education-health-and-care-plans_2099.zip!supporting-files/other.csv is not a known source")


def test_truncated_file_fails_with_the_row(tmp_path):
    data = timeliness_csv(["10,9,5,5,50,55.6", "10,9,5,5,50,55.6"])
    path = tmp_path / "timeliness_20_week.csv"
    path.write_bytes(data[: len(data) - 12])
    with pytest.raises(SourceFormatError, match="truncated") as error:
        read_ees_csv(path)
    assert error.value.row == 3


def test_unknown_file_lists_known_sources():
    with pytest.raises(UnknownSourceError) as error:
        detect_source("my_spreadsheet.csv")
    message = str(error.value)
    assert "ehcp_timeliness" in message and "lait_indicators" in message and "statistical_neighbours" in message


def test_lait_values_and_geographies(tmp_path):
    frame = pl.DataFrame({
        "Short Desc": ["SEN_EHC_All_20wks"] * 4,
        "Data item": ["x"] * 4,
        "Years": ["2024"] * 4,
        "LA and Regions": ["Stockport", "England", "North West", "London (Inner)"],
        "Values": ["7.0000000000000007E-2", "45.9", "-", "9.8000000000000007"],
        "LA Number": [356.0, 970.0, 981.0, 987.0],
        "Region": ["North West", "NA", "NA", "NA"],
    })
    path = tmp_path / "bds_long_0.parquet"
    frame.write_parquet(path)
    reference = pl.DataFrame({"new_la_code": ["E08000007"], "old_la_code": ["356"], "is_combined": [False],
                              "date_of_operation": [None], "date_of_termination": [None]})
    out = read_lait_indicators(path, reference).sort("source_row")
    assert out["geographic_level"].to_list() == ["Local authority", "National", "Regional", "Sub-regional"]
    assert out["new_la_code"].to_list() == ["E08000007", None, None, None]
    assert out["region_code"].to_list() == ["E12000002", None, "E12000002", None]
    assert out["value"].to_list() == [0.07, 45.9, None, 9.8]
    assert out["value_status"].to_list() == ["ok", "ok", "missing", "ok"]


def test_statistical_neighbours_layout(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "LA SN Groups"
    header = ["LA num", "LA Name", "LA number", "GOInd", "GOReg"]
    for rank in range(1, 11):
        header += [f"SN{rank}", "SNP"]
    sheet.append([chr(65 + i) for i in range(len(header))])
    sheet.append(list(range(1, len(header) + 1)))
    sheet.append(header)
    row = [356, "Stockport", 356, 5, "North West"]
    for rank in range(1, 11):
        row += [300 + rank, "Very Close" if rank < 5 else "somewhat close"]
    sheet.append(row)
    sheet.append([999, "New LA", 999, 5, "North West"] + ["-", "-"] * 10)
    path = tmp_path / "sn_may_2025.xlsx"
    book.save(path)
    out = read_statistical_neighbours(path)
    assert out.height == 10
    assert out["neighbour_rank"].to_list() == list(range(1, 11))
    assert out["neighbour_la_number"].to_list()[:2] == [301, 302]
    assert set(out["closeness"]) == {"Very close", "Somewhat close"}
    assert out["source_row"].unique().to_list() == [4]
    assert vintage_from_name("sn_april_2021.xlsx")[1].isoformat() == "2021-04-01"


def test_raw_file_hash_is_of_the_bytes():
    raw = RawFile("a.csv", b"abc")
    assert raw.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert io.BytesIO(raw.data).read() == b"abc"
