"""The analysts' connections: the marts as Parquet and as Excel Tables in exports/, Excel Tables in
the scorecard workbook, and `sql` on a warehouse without marts."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipelines.cli import main
from pipelines.config import demo_la
from pipelines.ingest.loader import connect_warehouse
from pipelines.reports.marts_export import (
    EXPORTED_MARTS,
    WORKBOOK,
    _write_workbook,
    exports_dir,
    table_name,
    write_mart_exports,
)
from pipelines.reports.scorecard import write_reports
from tests.test_scorecard_report import query

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def warehouse(demo_built, tmp_path_factory):
    return demo_built[0]


def test_every_refresh_output_of_the_marts_is_parquet_and_excel_tables(warehouse, tmp_path):
    written = write_mart_exports(warehouse, tmp_path)
    assert exports_dir(warehouse) == warehouse.parent / "exports"
    for mart in EXPORTED_MARTS:
        frame = pl.read_parquet(tmp_path / f"{mart}.parquet")
        assert frame.height == query(warehouse, f"select count(*) as n from marts.{mart}")[0]["n"] > 0
    assert tmp_path / WORKBOOK in written
    wb = load_workbook(tmp_path / WORKBOOK)
    for mart, in_workbook in EXPORTED_MARTS.items():
        if not in_workbook:
            assert mart not in wb.sheetnames
            continue
        ws = wb[mart]
        tables = ws.tables
        assert list(tables) == [table_name(mart)]
        # the table covers the header and every data row and column
        assert tables[table_name(mart)].ref == f"A1:{ws.cell(row=1, column=ws.max_column).column_letter}{ws.max_row}"
        n = query(warehouse, f"select count(*) as n from marts.{mart}")[0]["n"]
        assert ws.max_row == n + 1
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_a_refresh_keeps_an_export_that_holds_exactly_the_marts_rows_and_rewrites_the_rest(warehouse, tmp_path):
    copy = tmp_path / "warehouse" / "send.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(warehouse, copy)
    first = write_mart_exports(copy)  # the refresh's own folder: exports/ beside the warehouse
    stamps = {path.name: path.stat().st_mtime_ns for path in first}
    assert write_mart_exports(copy) == first
    assert {path.name: path.stat().st_mtime_ns for path in first} == stamps  # nothing written again
    con = connect_warehouse(copy)
    try:  # one mart changes; a file someone else wrote over is not the export's any more
        con.execute("update marts.dim_kpi set title = title || ' (renamed)' where kpi_id = 'S5'")
    finally:
        con.close()
    values = exports_dir(copy) / "fct_kpi_values.parquet"
    pl.read_parquet(values).head(1).write_parquet(values)
    third = write_mart_exports(copy)
    changed = {path.name for path in third if path.stat().st_mtime_ns != stamps[path.name]}
    assert changed == {"dim_kpi.parquet", WORKBOOK, "fct_kpi_values.parquet"}
    kpis = pl.read_parquet(exports_dir(copy) / "dim_kpi.parquet")
    assert kpis.filter(pl.col("kpi_id") == "S5")["title"][0].endswith(" (renamed)")
    assert pl.read_parquet(values).height == query(copy, "select count(*) as n from marts.fct_kpi_values")[0]["n"]
    assert not list(exports_dir(copy).glob(".*"))  # the record of what was written sits beside the folder


def test_the_generated_workbook_holds_each_value_as_openpyxl_reads_it_and_no_formula(tmp_path):
    frame = pl.DataFrame({
        "kpi_id": ["=1+2", "-x", "@SUM(A1)", "a < b & c > d\x07"],
        "value": [1.5, -2.0, None, float("nan")],
        "exact": [2.9999999999999996, 1e-7, 123456789.125, 0.0],
        "n": pl.Series([1, None, -3, 40_000], dtype=pl.Int32),
        "when": [dt.date(2025, 3, 31), dt.date(1900, 1, 1), None, dt.date(2000, 2, 29)],
        "at": [dt.datetime(2025, 3, 31, 12, 30), None, None, None],
        "flag": [True, False, None, True],
        "tags": [["a", "b"], [], None, ["=c"]],
    })
    _write_workbook({"fct_scorecard": frame, "dim_la": frame.head(0)}, tmp_path / "w.xlsx")
    wb = load_workbook(tmp_path / "w.xlsx")
    ws = wb["fct_scorecard"]
    assert [c.value for c in ws[1]] == frame.columns
    column = {name: [c.value for c in ws[letter][1:]] for name, letter in zip(frame.columns, "ABCDEFGH", strict=True)}
    assert column["kpi_id"] == ["'=1+2", "'-x", "'@SUM(A1)", "a < b & c > d"]
    assert column["value"] == [1.5, -2.0, None, None]
    assert column["exact"] == [2.9999999999999996, 1e-7, 123456789.125, 0]
    assert column["n"] == [1, None, -3, 40_000]
    assert column["when"] == [dt.datetime(2025, 3, 31), dt.datetime(1900, 1, 1), None, dt.datetime(2000, 2, 29)]
    assert ws["E2"].number_format == "yyyy-mm-dd"
    assert column["at"] == [dt.datetime(2025, 3, 31, 12, 30), None, None, None]
    assert column["flag"] == [True, False, None, True]
    assert column["tags"] == ['["a", "b"]', "[]", None, '["=c"]']
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    table = ws.tables["Scorecard"]
    assert table.ref == "A1:H5" and [c.name for c in table.tableColumns] == frame.columns
    assert ws.freeze_panes == "A2"
    empty = wb["dim_la"]
    assert [c.value for c in empty[1]] == frame.columns and empty.max_row == 1


def test_the_scorecard_workbook_has_excel_tables_over_its_data_sheets(warehouse, tmp_path):
    _, xlsx = write_reports(warehouse, demo_la(), out_dir=tmp_path)
    wb = load_workbook(xlsx)
    for sheet, name in (("S", "Scorecard_S"), ("E", "Scorecard_E"), ("P", "Scorecard_P"), ("L", "Scorecard_L"),
                        ("Data", "Data")):
        ws = wb[sheet]
        assert list(ws.tables) == [name], sheet
        ref = ws.tables[name].ref
        assert ref == f"A1:{ws.cell(row=1, column=ws.max_column).column_letter}{ws.max_row}", (sheet, ref)
        assert ws.tables[name].tableColumns[0].name == ws["A1"].value


def test_sql_on_a_warehouse_without_marts_says_to_run_refresh(tmp_path, monkeypatch):
    bare = tmp_path / "send.duckdb"
    connect_warehouse(bare).close()
    monkeypatch.setenv("SEND_WAREHOUSE", str(bare))
    result = CliRunner().invoke(main, ["sql", "select * from marts.fct_scorecard"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "has no marts yet" in message and "run 'send-scorecard refresh'" in message
    assert "Traceback" not in result.output
