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
