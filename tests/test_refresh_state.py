"""Nothing changed = nothing rebuilt: the refresh fingerprint, the published state and the dbt selection."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.refresh_state import Fingerprint, plan_refresh, read_published_state, record_state


@pytest.fixture
def drop_zone(tmp_path):
    raw = tmp_path / "raw"
    (raw / "local").mkdir(parents=True)
    (raw / "national.csv").write_text("a,b\n1,2\n")
    (raw / "local" / "local_offer_visits_2025-06.csv").write_text("date,page,views\n2025-06-01,home,5\n")
    (raw / "scorecard_settings.csv").write_text("kpi_id,priority\nS5,high\n")
    (raw / ".DS_Store").write_text("hidden")
    return raw


def publish_state(published, plan, run_id="run-1", manifest=None, loads=3):
    con = duckdb.connect(str(published))
    try:
        con.execute("create schema if not exists meta")
        con.execute("create table if not exists meta.file_loads (source varchar)")
        con.execute("delete from meta.file_loads")
        con.executemany("insert into meta.file_loads values (?)", [["x"]] * loads)
        record_state(con, plan, run_id, manifest)
    finally:
        con.close()


def test_fingerprint_hashes_every_visible_file_and_sees_one_changed_byte(drop_zone):
    first = Fingerprint.of(drop_zone)
    assert sorted(first.sources) == ["local/local_offer_visits_2025-06.csv", "national.csv",
                                     "scorecard_settings.csv"]
    assert Fingerprint.of(drop_zone) == first
    (drop_zone / "local" / "local_offer_visits_2025-06.csv").write_text("date,page,views\n2025-06-01,home,6\n")
    changes = Fingerprint.of(drop_zone).changes_from(first)
    assert changes == ["1 drop-zone file(s) (local/local_offer_visits_2025-06.csv)"]


def test_settings_are_part_of_the_fingerprint_but_never_stored(drop_zone, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "a-secret-key-value")
    first = Fingerprint.of(drop_zone)
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "another-secret-key")
    second = Fingerprint.of(drop_zone)
    assert second.changes_from(first) == ["the SEND_* settings or engine versions"]
    assert "secret" not in json.dumps(second.__dict__)
    monkeypatch.setenv("SEND_WAREHOUSE", "/somewhere/else.duckdb")  # where, not what: no change
    assert Fingerprint.of(drop_zone) == second


def test_published_state_round_trip_and_unchanged_plan(drop_zone, tmp_path):
    published = tmp_path / "send.duckdb"
    plan = plan_refresh(drop_zone, published)
    assert plan.previous is None and not plan.unchanged
    assert plan.dbt_selection(["local_offer_visits"]) is None  # no published state: build everything
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"nodes": {}}')
    publish_state(published, plan, manifest=manifest)
    again = plan_refresh(drop_zone, published)
    assert again.unchanged and again.reason == "nothing changed since refresh run-1"
    with again.state_dir() as folder:
        assert (folder / "manifest.json").read_text() == '{"nodes": {}}'
    assert not folder.exists()


def test_a_changed_file_selects_what_depends_on_its_table(drop_zone, tmp_path):
    published = tmp_path / "send.duckdb"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {
        "model.p.stg_meta__file_loads": {"name": "stg_meta__file_loads", "resource_type": "model",
                                         "raw_code": "{{ select_optional(warehouse_relation('meta', 'file_loads')) }}"},
        "model.p.stg_neet": {"name": "stg_neet", "resource_type": "model", "raw_code": "select * from {{ source('raw', 'neet_send') }}"},
    }}))
    publish_state(published, plan_refresh(drop_zone, published), manifest=manifest)
    (drop_zone / "national.csv").write_text("a,b\n1,3\n")
    plan = plan_refresh(drop_zone, published)
    assert not plan.unchanged and "national.csv" in plan.reason
    assert plan.dbt_selection(["local_offer_visits", "neet_send", "neet_send"]) == (
        "stg_meta__file_loads+ source:raw.local_offer_visits+ source:raw.neet_send+ state:modified+")


def test_a_load_outside_the_refresh_invalidates_the_published_state(drop_zone, tmp_path):
    published = tmp_path / "send.duckdb"
    publish_state(published, plan_refresh(drop_zone, published), loads=3)
    assert read_published_state(published) is not None
    con = duckdb.connect(str(published))
    con.execute("insert into meta.file_loads values ('loaded by send-scorecard ingest')")
    con.close()
    assert read_published_state(published) is None
    assert not plan_refresh(drop_zone, published).unchanged


def test_code_or_settings_change_means_a_full_build(drop_zone, tmp_path, monkeypatch):
    published = tmp_path / "send.duckdb"
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    publish_state(published, plan_refresh(drop_zone, published), manifest=manifest)
    monkeypatch.setenv("SEND_SCORECARD_LA", "E09000033")
    plan = plan_refresh(drop_zone, published)
    assert plan.changes == ["the SEND_* settings or engine versions"]
    assert plan.dbt_selection(["neet_send"]) is None


def test_dbt_settings_are_the_env_vars_the_dbt_project_reads(monkeypatch):
    """The unit-test record's settings (refresh._unit_test_key) are those dbt sees through env_var():
    the LA of the local extracts is one, the pseudonymisation key (used at ingest only) and the
    warehouse's location are not."""
    from pipelines.refresh_state import dbt_settings

    monkeypatch.setenv("SEND_SCORECARD_LA", "E08000007")
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "one key")
    first = dbt_settings()
    assert first["SEND_SCORECARD_LA"] == "E08000007"
    assert "SEND_PSEUDONYM_KEY" not in first and "SEND_WAREHOUSE" not in first
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "another key")
    assert dbt_settings() == first
    monkeypatch.setenv("SEND_SCORECARD_LA", "E09000002")
    assert dbt_settings() != first
