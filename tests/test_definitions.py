"""The Dagster code location loads and its national assets materialise in-process."""

from __future__ import annotations

import dagster as dg
import duckdb

from pipelines.definitions import defs, published_warehouse
from pipelines.defs.national import national_assets
from tests.test_readers import timeliness_csv


def test_definitions_load_with_one_asset_per_national_source():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/ehcp_timeliness", "raw/lait_indicators", "raw/statistical_neighbours", "raw/la_reference"} <= keys
    assert repo.get_job("national_ingest") is not None and repo.get_job("refresh") is not None
    assert repo.get_schedule_def("monthly_refresh").execution_timezone == "Europe/London"


def test_materialise_national_assets(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "national").mkdir(parents=True)
    (raw / "national" / "timeliness_20_week.csv").write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    warehouse = tmp_path / "send.duckdb"
    monkeypatch.setenv("SEND_RAW", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = dg.materialize([*national_assets, published_warehouse])
    assert result.success
    assert not list((tmp_path / "build").glob("*.duckdb"))  # the run's build copy became the warehouse
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from raw.ehcp_timeliness").fetchall() == [(6,)]
    con.close()
    again = dg.materialize([*national_assets, published_warehouse])  # nothing new: every file skipped
    materialisation = again.asset_materializations_for_node("raw__ehcp_timeliness")[0]
    assert materialisation.metadata["skipped"].value == 1


def test_drop_zone_sensor_reacts_to_content_not_to_touch(tmp_path, monkeypatch):
    import os

    from pipelines.definitions import drop_zone_sensor

    monkeypatch.setenv("SEND_RAW", str(tmp_path))
    data = tmp_path / "timeliness_20_week.csv"
    data.write_bytes(timeliness_csv(["10,9,5,5,50,55.6"]))
    repo = defs.get_repository_def()

    def tick(cursor):
        context = dg.build_sensor_context(cursor=cursor, repository_def=repo)
        return drop_zone_sensor(context), context.cursor

    first, cursor = tick(None)
    assert isinstance(first, dg.RunRequest)
    keys = {key.to_user_string() for key in first.asset_selection}
    assert "raw/ehcp_timeliness" in keys and "published_warehouse" in keys and "raw/lait_indicators" not in keys
    os.utime(data, (1, 1))  # touched, same content
    touched, cursor = tick(cursor)
    assert isinstance(touched, dg.SkipReason)
    data.write_bytes(timeliness_csv(["10,9,6,6,60,66.7"]))
    changed, _ = tick(cursor)
    assert isinstance(changed, dg.RunRequest) and changed.run_key != first.run_key
