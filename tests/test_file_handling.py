"""Hardened file handling: what a local extract or a national file cannot do to the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import SourceFormatError
from pipelines.ingest.loader import connect_warehouse, ingest_paths
from pipelines.ingest.local import read_local_offer_visits


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN", "Infinity"])
def test_nan_or_inf_in_a_count_refuses_that_file_only(tmp_path, bad):
    raw = tmp_path / "raw"
    write(raw / "local_offer_visits_2025-03.csv", f"Date,Page,Views,Sessions,Users\n2025-03-01,/x,{bad},1,1\n")
    write(raw / "local_offer_visits_2025-04.csv", "Date,Page,Views,Sessions,Users\n2025-04-01,/x,3,1,1\n")
    with pytest.raises(SourceFormatError, match=r"\(row 2, column 'Views'\): .* (is not a finite number|is negative)"):
        read_local_offer_visits(raw / "local_offer_visits_2025-03.csv")
    con = connect_warehouse(tmp_path / "send.duckdb")
    try:
        results = ingest_paths(con, [raw])
        assert [r.status for r in results] == ["failed", "loaded"]
        assert con.execute("select sum(page_views) from raw.local_offer_visits").fetchone()[0] == 3
    finally:
        con.close()


def test_nan_in_a_decimal_column_refuses_that_file_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "test-key-0123456789-abcdef")
    raw = tmp_path / "raw"
    write(raw / "exclusions_log_2024-25.csv", "Pupil ID,School,Start Date,Category,Sessions,SEN Provision\n"
                                              "PU1,Marple High School,02/09/2024,Fixed Term,nan,E\n")
    write(raw / "local_offer_visits_2025-04.csv", "Date,Page,Views,Sessions,Users\n2025-04-01,/x,3,1,1\n")
    con = connect_warehouse(tmp_path / "send.duckdb")
    try:
        results = ingest_paths(con, [raw])
    finally:
        con.close()
    assert [r.status for r in results] == ["failed", "loaded"]
    assert "(row 2, column 'Sessions'): the value (not shown" in results[0].message
    assert "is not a finite number (nan or inf)" in results[0].message


def _load(tmp_path: Path, raw: Path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    try:
        return ingest_paths(con, [raw]), con.execute("select count(*) from meta.file_loads").fetchone()[0]
    finally:
        con.close()


def test_an_archive_member_larger_than_the_cap_is_refused_without_reading_it(tmp_path, monkeypatch):
    import zipfile

    from pipelines.ingest.rawfile import open_raw_files

    monkeypatch.setenv("SEND_MAX_MEMBER_BYTES", "100000")
    path = tmp_path / "education-health-and-care-plans_2025.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/caseload.csv", "time_period," + "0" * 2_000_000)
    assert path.stat().st_size < 20_000  # a small zip that expands a hundredfold
    with pytest.raises(SourceFormatError, match=r"caseload.csv: expands to more than 100,000 bytes, the limit for "
                                                 r"one archive member \(SEND_MAX_MEMBER_BYTES\)"):
        list(open_raw_files(path))


def test_a_file_with_more_rows_than_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_MAX_ROWS_PER_FILE", "3")
    path = write(tmp_path / "local_offer_visits_2025-03.csv",
                 "Date,Page,Views,Sessions,Users\n" + "2025-03-01,/x,1,1,1\n" * 4)
    with pytest.raises(SourceFormatError, match=r"has more than 3 rows, the limit for one file \(SEND_MAX_ROWS_PER_FILE\)"):
        read_local_offer_visits(path)


def test_a_link_out_of_the_drop_zone_is_refused(tmp_path):
    outside = write(tmp_path / "elsewhere" / "local_offer_visits_2025-03.csv",
                    "Date,Page,Views,Sessions,Users\n2025-03-01,/x,1,1,1\n")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "local_offer_visits_2025-03.csv").symlink_to(outside)
    results, _ = _load(tmp_path, raw)
    assert [r.status for r in results] == ["failed"]
    assert "is a link to a file outside the drop-zone and is not read" in results[0].message


def test_utf8_with_a_stray_byte_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "local_offer_visits_2025-03.csv"
    path.write_bytes("Date,Page,Views,Sessions,Users\n2025-03-01,/stockport\u2019s,1,1,1\n".encode()
                     + b"2025-03-02,/caf\xe9,1,1,1\n")
    with pytest.raises(SourceFormatError) as error:
        read_local_offer_visits(path)
    assert "line(s) 3 hold bytes that are not UTF-8" in str(error.value) and error.value.row == 3


def test_cp1252_throughout_is_still_read(tmp_path):
    path = tmp_path / "local_offer_visits_2025-03.csv"
    path.write_bytes(b"Date,Page,Views,Sessions,Users\n2025-03-01,/caf\xe9,1,1,1\n")
    assert read_local_offer_visits(path)["page_path"].to_list() == ["/caf\u00e9"]


def test_utf16_is_detected_and_read(tmp_path):
    path = tmp_path / "local_offer_visits_2025-03.csv"
    path.write_bytes("Date,Page,Views,Sessions,Users\r\n2025-03-01,/x,5,1,1\r\n".encode("utf-16"))
    assert read_local_offer_visits(path)["page_views"].to_list() == [5]


def test_trailing_empty_columns_are_dropped(tmp_path):
    from pipelines.ingest.rawfile import RawFile, read_csv_text

    frame = read_csv_text(RawFile("x.csv", b"a,b,,\n1,2,,\n3,4,,\n"))
    assert frame.columns == ["source_row", "a", "b"]
    with pytest.raises(SourceFormatError, match="column 3 has values but no header"):
        read_csv_text(RawFile("x.csv", b"a,b,\n1,2,9\n"))
