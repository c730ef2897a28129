"""The Dagster code location loads and its national assets materialise in-process."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.definitions import defs
from pipelines.defs.national import national_assets
from tests.test_readers import timeliness_csv


def test_definitions_load_with_one_asset_per_national_source():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/ehcp_timeliness", "raw/lait_indicators", "raw/statistical_neighbours", "raw/la_reference"} <= keys
    assert repo.get_job("national_ingest") is not None


def test_materialise_national_assets(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    (raw / "national" / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    warehouse = tmp_path / "send.duckdb"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = dg.materialize(national_assets)
    assert result.success
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from raw.ehcp_timeliness").fetchall() == [(6,)]
    con.close()
    again = dg.materialize(national_assets)  # nothing new: every file skipped
    materialisation = again.asset_materializations_for_node("raw__ehcp_timeliness")[0]
    assert materialisation.metadata["skipped"].value == 1
