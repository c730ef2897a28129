"""The quality gate and the file's transaction (loader.load_raw_file): a file the gate refuses leaves its raw
table exactly as it was, release marks included; the gate sees the warehouse as it was before the file; a write
that fails after the gate passed keeps the gate's results."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest import loader
from pipelines.ingest.loader import connect_warehouse, ensure_meta, load_raw_file
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE

NEET = "dfe/neet-send/UD_NEETNK_LA_dashboard_{}_final.csv"
SPEC = SOURCES_BY_TABLE["neet_send"]


def _neet(real_data, year: int, broken: bool = False, percent: str | None = None) -> RawFile:
    """A real NEET file (one file per year); `broken`: one LA's NEET percentage above 100 (a blocking check
    fails); `percent`: that percentage set to this valid value instead (a corrected copy of the release)."""
    text = (real_data / NEET.format(year)).read_text(encoding="utf-8")
    if broken or percent:
        lines = text.splitlines(keepends=True)
        header = lines[0].rstrip("\r\n").split(",")
        row = next(i for i, line in enumerate(lines) if ",Local authority," in line)
        fields = lines[row].split(",")
        fields[header.index("NEET_percent")] = "150.5" if broken else percent
        lines[row] = ",".join(fields)
        text = "".join(lines)
    return RawFile(name=NEET.format(year).rsplit("/", 1)[-1], data=text.encode("utf-8"))


def _state(con: duckdb.DuckDBPyConnection, table: str = "neet_send") -> list:
    """Every row of the raw table with its release marks (loaded_at aside: one value per file)."""
    return con.execute(f"select * exclude (loaded_at) from raw.{table} order by all").fetchall()


@pytest.fixture
def con(tmp_path):
    con = connect_warehouse(tmp_path / "send.duckdb")
    ensure_meta(con)
    yield con
    con.close()


def test_a_refused_file_leaves_rows_and_release_marks_as_they_were(real_data, con):
    for raw in (_neet(real_data, 2022), _neet(real_data, 2023), _neet(real_data, 2023, percent="1.5")):
        assert load_raw_file(con, raw, SPEC).status == "loaded"
    before = _state(con)
    marked = con.execute("select count(*) from raw.neet_send where is_superseded").fetchall()[0][0]
    assert marked  # the corrected copy of 2023's release (loaded later) superseded the first copy's figures

    bad = _neet(real_data, 2023, broken=True)  # loaded later still: it would mark the corrected copy's rows
    result = load_raw_file(con, bad, SPEC)     # superseded, were it written

    assert result.status == "quarantined" and result.rows == 0
    assert result.message.startswith(f"{bad.name} was quarantined: 1 row has a percentage above 100")
    assert _state(con) == before
    assert con.execute("select count(*) from raw.neet_send where file_sha256 = ?", [bad.sha256]).fetchall() == [(0,)]
    assert con.execute("select status, message from meta.file_loads where file_sha256 = ?",
                       [bad.sha256]).fetchall() == [("quarantined", result.message)]
    assert con.execute("select success, failed from dq.validation_runs where file_sha256 = ?",
                       [bad.sha256]).fetchall() == [(False, 1)]
    assert con.execute("select count(*) from quarantine.files where file_sha256 = ?", [bad.sha256]).fetchall() == [(1,)]
    # a good copy loads afterwards and is the newest
    assert load_raw_file(con, _neet(real_data, 2023, percent="2.5"), SPEC).status == "loaded"
    assert con.execute("select count(*) from raw.neet_send where is_superseded").fetchall()[0][0] > marked


def test_a_refused_first_file_leaves_no_table(real_data, con):
    result = load_raw_file(con, _neet(real_data, 2023, broken=True), SPEC)
    assert result.status == "quarantined"
    assert con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                       "and table_name = 'neet_send'").fetchall() == [(0,)]
    assert con.execute("select check_name from dq.expectation_results where success = false and severity = 'fail'"
                       ).fetchall() == [("percentages_in_range",)]


def test_the_gate_compares_with_the_previous_load_not_with_the_file_being_written(real_data, con):
    """The row-count check compares with the loads committed before, never with the file itself."""
    full = _neet(real_data, 2023)
    assert load_raw_file(con, full, SPEC).status == "loaded"
    lines = full.data.decode("utf-8").splitlines(keepends=True)
    short = RawFile(name=full.name, data="".join(lines[:30]).encode("utf-8"))  # far fewer rows than before
    result = load_raw_file(con, short, SPEC)
    assert result.status == "quarantined", result.message
    assert f"expected from the previous load ({full.name}, " in result.message


def test_a_write_that_fails_after_the_gate_passed_keeps_the_gate_results(real_data, con, monkeypatch):
    assert load_raw_file(con, _neet(real_data, 2022), SPEC).status == "loaded"
    before = _state(con)
    written = loader.write_table

    def write_then_fail(con, spec, frame):
        written(con, spec, frame)  # the rows are in the transaction...
        raise duckdb.ConversionException("simulated failure after the insert")

    monkeypatch.setattr(loader, "write_table", write_then_fail)
    good = _neet(real_data, 2023)
    result = load_raw_file(con, good, SPEC)
    assert result.status == "failed" and "simulated failure after the insert" in result.message
    assert _state(con) == before  # ...and rolled back
    assert con.execute("select success from dq.validation_runs where file_sha256 = ?",
                       [good.sha256]).fetchall() == [(True,)]  # recorded, as when the gate ran first
    assert con.execute("select status from meta.file_loads where file_sha256 = ?", [good.sha256]).fetchall() == [
        ("failed",)]

    bad = _neet(real_data, 2024, broken=True)  # the gate refuses it: quarantined, never written
    result = load_raw_file(con, bad, SPEC)
    assert result.status == "quarantined" and result.rows == 0
    assert _state(con) == before
    assert con.execute("select status from meta.file_loads where file_sha256 = ?", [bad.sha256]).fetchall() == [
        ("quarantined",)]
