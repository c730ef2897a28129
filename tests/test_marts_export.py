"""The analysts' connections: the marts as Parquet and as Excel Tables in exports/, Excel Tables in
the scorecard workbook, and `sql` on a warehouse without marts."""

from __future__ import annotations

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
