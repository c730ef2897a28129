"""Hardened file handling: what a local extract or a national file cannot do to the pipeline."""

from __future__ import annotations

import datetime as dt
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


def test_listed_files_hold_no_bytes_and_a_file_changed_since_listing_is_refused(tmp_path):
    """Listing the drop-zone hashes each file (a zip's members too) without keeping its bytes; they are read
    on use, and a file that changed in between is refused, so the hash always is that of the bytes read."""
    import hashlib
    import zipfile

    from pipelines.ingest.rawfile import open_raw_files

    archive_path = tmp_path / "education-health-and-care-plans_2025.zip"
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/caseload.csv", "time_period,x\n2024,1\n")
        archive.writestr("data/newplans.csv", "time_period,y\n2024,2\n")
    loose = write(tmp_path / "la_lookup.csv", "a,b\n1,2\n")
    listed = [raw for path in (archive_path, loose) for raw in open_raw_files(path)]
    assert [r.name for r in listed] == ["education-health-and-care-plans_2025.zip!data/caseload.csv",
                                        "education-health-and-care-plans_2025.zip!data/newplans.csv", "la_lookup.csv"]
    assert all(r.data is None for r in listed)
    assert [r.content for r in listed] == [b"time_period,x\n2024,1\n", b"time_period,y\n2024,2\n", b"a,b\n1,2\n"]
    assert all(r.sha256 == hashlib.sha256(r.content).hexdigest() for r in listed)

    fresh = [raw for path in (archive_path, loose) for raw in open_raw_files(path)]
    loose.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/caseload.csv", "time_period,x\n2025,9\n")
        archive.writestr("data/newplans.csv", "time_period,y\n2024,2\n")
    for raw in (fresh[0], fresh[2]):
        with pytest.raises(SourceFormatError, match="changed while the refresh was reading it; run the refresh again"):
            assert raw.content is None  # never reached: reading it raises
    assert fresh[1].content == b"time_period,y\n2024,2\n"  # the member that did not change is read as listed


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


# --- the period of an extract: from its name or content, never in the future -------------------

POST16 = "CCIS ID,DOB,SEND,Activity Code\nYP1,01/10/2008,EHCP,130\nYP2,15/11/2008,K,540\n"
CASEWORK = ("Person ID,Date of Birth,Request ID,Request received,Outcome\n"
            "P1,01/02/2015,R1,03/01/2025,Ongoing\n")


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "test-key-0123456789-abcdef")


def test_identical_bytes_for_a_new_month_load_as_that_month(tmp_path, key):
    raw = tmp_path / "raw"
    write(raw / "nccis_post16_2025-03.csv", POST16)
    first, _ = _load(tmp_path, raw)
    write(raw / "nccis_post16_2025-04.csv", POST16)  # the same bytes, named for the next month
    second, _ = _load(tmp_path, raw)
    assert [r.status for r in first] == ["loaded"]
    assert sorted((r.file, r.status) for r in second) == [("nccis_post16_2025-03.csv", "skipped"),
                                                          ("nccis_post16_2025-04.csv", "loaded")]
    con = connect_warehouse(tmp_path / "send.duckdb", read_only=True)
    try:
        assert con.execute("select month, count(*) from raw.local_post16_tracking group by month order by month"
                           ).fetchall() == [(dt.date(2025, 3, 1), 2), (dt.date(2025, 4, 1), 2)]
    finally:
        con.close()


def test_an_earlier_month_saved_under_a_new_name_is_refused_with_that_reason(tmp_path, key):
    raw = tmp_path / "raw"
    write(raw / "nccis_post16_2025-03.csv", "Month," + POST16.replace("\nYP", "\n2025-03,YP"))
    first, _ = _load(tmp_path, raw)
    (raw / "nccis_post16_2025-04.csv").write_bytes((raw / "nccis_post16_2025-03.csv").read_bytes())
    second, _ = _load(tmp_path, raw)
    assert [r.status for r in first] == ["loaded"]
    refused = next(r for r in second if r.file == "nccis_post16_2025-04.csv")
    assert refused.status == "failed" and "already loaded" not in refused.message
    assert ("the file name says April 2025 but the month in the file is another month, so the file may be an "
            "earlier extract saved under a new name") in refused.message
    assert "2025-03" not in refused.message  # a cell of a local extract is never quoted


@pytest.mark.parametrize("name, text, problem", [
    ("ehcp_casework_2052-03-31.csv", CASEWORK,
     "the file name dates the extract 31/03/2052, which is in the future"),
    ("ehcp_casework.csv", CASEWORK.replace("Outcome\n", "Outcome,Extract date\n").replace("Ongoing\n", "Ongoing,31/03/2052\n"),
     "(column 'Extract date'): the extract date in the file is in the future"),
    ("nccis_post16_2052-03.csv", POST16, "the file name dates the extract 31/03/2052, which is in the future"),
    ("nccis_post16.csv", "Month," + POST16.replace("\nYP", "\n2052-03,YP"),
     "(column 'Month'): the month in the file is in the future"),
])
def test_an_extract_dated_in_the_future_is_refused(tmp_path, key, name, text, problem):
    raw = tmp_path / "raw"
    write(raw / name, text)
    results, _ = _load(tmp_path, raw)
    assert [r.status for r in results] == ["failed"]
    assert problem in results[0].message and "today is" in results[0].message


# --- the row check of a CSV: proven by array passes, else the csv module names the row ----------


def _csv_module_accepts(text: str, cap: int) -> bool:
    from pipelines.ingest.rawfile import RawFile, _check_rows

    try:
        _check_rows(RawFile("x.csv", text.encode("utf-8")), text, cap)
    except SourceFormatError:
        return False
    return True


def test_a_file_the_array_check_proves_regular_is_one_the_csv_module_accepts():
    """The fast check may send a good file to the csv module, never pass a file the csv module refuses
    (ragged rows, a quote closing mid-field, an unterminated quote, a lone carriage return, NUL, too
    many rows): random texts from the characters that make CSV hard."""
    import random

    from pipelines.ingest.rawfile import _proven_regular

    pieces = ["a", "b", ",", '"', "\n", "\r", " ", "\r\n", '""', "\0", ",,", '"a"', "a,b\n", '"x,\ny"']
    rng = random.Random(20261201)
    proven = accepted = 0
    for _ in range(40_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        if not text.strip():
            continue
        ok = _csv_module_accepts(text, cap=3)
        accepted += ok
        if _proven_regular(text.encode("utf-8"), cap=3):
            proven += 1
            assert ok, f"proven regular but the csv module refuses {text!r}"
    assert proven > 2_000 and accepted > proven  # both verdicts are exercised


@pytest.mark.parametrize("text, proven", [
    ('a,b\n1,"x, y"\n2,"he said ""hi"""\r\n\n3,"two\nlines"\n', True),
    ("a,b\n1,2\n3\n", False),  # ragged: the csv module names row 3
    ('a,b\n1,"x"y\n', False),  # a quote closing mid-field
    ('a,b\n1,x"y"\n', False),  # a quote inside an unquoted field (the csv module keeps it)
    ('a,b\n1,"x\n', False),  # unterminated
    ("a,b\n1,2\r3,4\n", False),  # a carriage return that ends no line
])
def test_the_array_check_on_known_shapes(text, proven):
    from pipelines.ingest.rawfile import _proven_regular

    assert _proven_regular(text.encode("utf-8"), cap=10) is proven
    if proven:
        assert _csv_module_accepts(text, cap=10)


def test_the_row_cap_and_a_ragged_row_still_name_the_row(monkeypatch):
    from pipelines.ingest.rawfile import MAX_ROWS_ENV, RawFile, read_csv_text

    with pytest.raises(SourceFormatError, match=r"row 3.*has 1 fields but the header has 2; the file looks truncated"):
        read_csv_text(RawFile("x.csv", b"a,b\n1,2\n3\n4,5\n"))
    monkeypatch.setenv(MAX_ROWS_ENV, "2")
    with pytest.raises(SourceFormatError, match="more than 2 rows"):
        read_csv_text(RawFile("x.csv", b"a,b\n1,2\n3,4\n5,6\n"))
    assert read_csv_text(RawFile("x.csv", b"a,b\n1,2\n3,4\n"))["a"].to_list() == ["1", "3"]


def test_every_real_csv_takes_the_array_check(real_data):
    """The published files are regular: none needs the row-by-row parse."""
    import zipfile

    from pipelines.ingest.rawfile import RawFile, _proven_regular, decode_text, max_rows

    checked = []
    for path in sorted(real_data.rglob("*")):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = [(f"{path.name}!{m}", archive.read(m)) for m in archive.namelist() if m.endswith(".csv")]
        elif path.name.endswith(".csv"):
            members = [(path.name, path.read_bytes())]
        else:
            continue
        for name, data in members:
            text = decode_text(RawFile(name, data))
            assert _proven_regular(text.encode("utf-8"), max_rows()), name
            checked.append(name)
    assert len(checked) >= 20
