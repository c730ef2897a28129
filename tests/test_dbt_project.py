"""The dbt project builds (models, data tests, unit tests) and the runner reports what ran or failed.

The build runs on a small warehouse made from the demo data set (generated into tmp, loaded with the
ingest), so it needs nothing outside the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from pipelines.config import dbt_target_dir
from pipelines.dbt_runner import DbtBuildError, RunSummary, WarmDbt, dbt_build, dbt_parse
from pipelines.errors import SendScorecardError

pytestmark = pytest.mark.slow

MARTS = ["dim_la", "dim_kpi", "dim_period", "fct_kpi_values", "fct_kpi_benchmarks", "fct_scorecard",
         "fct_scorecard_summary"]


@pytest.fixture(scope="module")
def demo_build(demo_built) -> tuple[Path, RunSummary]:
    """The demo data loaded into a fresh warehouse and built with dbt (conftest, once per run)."""
    return demo_built


def test_dbt_build_passes_models_tests_and_unit_tests(demo_build):
    _, summary = demo_build
    assert summary.success, summary.sentence()
    assert not summary.failed, summary.sentence()
    assert summary.count("model") >= 30
    assert summary.count("test") >= 60  # 226 checks: a model's column checks are one model_checks test
    assert summary.count("unit_test") >= 10
    assert all(r.status == "pass" for r in summary.results if r.resource_type == "unit_test")


def test_marts_are_built_and_not_empty(demo_build):
    warehouse, _ = demo_build
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for mart in MARTS:
            assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0, mart
        sentence = con.execute(
            "select summary_sentence from marts.fct_scorecard_summary where la_code = 'E08000007'").fetchone()[0]
    finally:
        con.close()
    assert " measures with data available & updated for this report: " in sentence
    assert sentence.endswith(" to be further defined, or where data will be supplied soon.")


def test_a_failing_model_is_named_in_one_readable_sentence(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(DbtBuildError) as caught:
        dbt_build(empty, select="stg_ehcp__timeliness")
    message = str(caught.value)
    assert isinstance(caught.value, SendScorecardError)
    assert message.startswith("dbt build failed: model stg_ehcp__timeliness")
    assert "\n" not in message


def test_dbt_started_ahead_builds_and_reports_a_failure_as_the_runner_does(demo_build, tmp_path):
    # the refresh's warm dbt process (WarmDbt): the same build, the parse done before it was asked
    warehouse = tmp_path / "send.duckdb"
    warehouse.write_bytes(demo_build[0].read_bytes())
    summary = WarmDbt().build(warehouse, select="dim_kpi")
    assert summary.success and [r.name for r in summary.results if r.resource_type == "model"] == ["dim_kpi"]
    assert summary.count("test") > 0 and '"model.send_scorecard.dim_kpi"' in summary.manifest
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(DbtBuildError) as caught:
        WarmDbt().build(empty, select="stg_ehcp__timeliness")
    assert str(caught.value).startswith("dbt build failed: model stg_ehcp__timeliness")
    assert caught.value.summary is not None and [r.name for r in caught.value.summary.failed] == ["stg_ehcp__timeliness"]


def test_dbt_started_ahead_ends_when_unused_and_a_lost_one_builds_here(tmp_path):
    unused = WarmDbt()
    process = unused._process
    unused.close()
    assert process.returncode == 0  # end of input: it stops without building
    lost = WarmDbt()
    lost._process.kill()
    lost._process.wait()
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(DbtBuildError) as caught:  # built in this process instead, with the same outcome
        lost.build(empty, select="stg_ehcp__timeliness")
    assert str(caught.value).startswith("dbt build failed: model stg_ehcp__timeliness")


def test_runner_works_from_any_directory_and_sets_an_absolute_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEND_WAREHOUSE", "relative/elsewhere.duckdb")
    manifest = dbt_parse(Path("warehouse.duckdb"))
    assert manifest == dbt_target_dir() / "manifest.json"
    import os

    assert os.environ["SEND_WAREHOUSE"] == "relative/elsewhere.duckdb"  # restored after the run


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(dbt_parse().read_text())


def test_every_raw_table_is_a_source_with_its_dagster_asset_key(manifest):
    sources = {s["name"]: s for s in manifest["sources"].values()}
    documented = (Path(__file__).resolve().parents[1] / "docs" / "raw-tables.md").read_text()
    for name, source in sources.items():
        assert source["schema"] == "raw"
        key = source["meta"].get("dagster", {}).get("asset_key") or source["config"]["meta"]["dagster"]["asset_key"]
        assert key == ["raw", name]
        assert f"raw.{name}" in documented or name in documented, name
    assert {"ehcp_timeliness", "lait_indicators", "statistical_neighbours", "la_reference"} <= set(sources)


def test_every_model_is_described_and_every_mart_column_documented_under_contract(manifest):
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models
    for node in models:
        assert node["description"].strip(), node["name"]
        if node["name"] in MARTS:
            assert node["config"]["contract"]["enforced"], node["name"]
            assert node["columns"], node["name"]
            for column in node["columns"].values():
                assert column["description"].strip(), f"{node['name']}.{column['name']}"
                assert column["data_type"], f"{node['name']}.{column['name']}"


@contextmanager
def changed_copy(demo_build, tmp_path) -> Iterator[tuple[Path, duckdb.DuckDBPyConnection]]:
    """A copy of the demo build's warehouse, open for the test to change (closed after the block)."""
    warehouse = tmp_path / "send.duckdb"
    warehouse.write_bytes(demo_build[0].read_bytes())
    con = duckdb.connect(str(warehouse))
    try:
        yield warehouse, con
    finally:
        con.close()


def test_a_null_in_one_of_a_models_required_columns_fails_naming_the_model_and_column(demo_build, tmp_path):
    # the checks of a model are one model_checks test, not one test each: a null in one of its
    # required columns still fails the build, and the message names the model, column and rows
    with changed_copy(demo_build, tmp_path) as (warehouse, con):
        con.execute("update raw.la_reference set la_name = null "
                    "where new_la_code in (select new_la_code from raw.la_reference order by new_la_code limit 2)")
    with pytest.raises(DbtBuildError) as caught:
        dbt_build(warehouse, select="stg_reference__local_authorities dim_la")
    message = str(caught.value)
    assert message.startswith("dbt build failed: test model_checks_dim_la_"), message
    assert "(dim_la: la_name is null on 2 row(s))" in message and "\n" not in message
    [failed] = caught.value.summary.failed
    assert failed.problems == ["dim_la: la_name is null on 2 row(s)"]


def test_every_kind_of_check_in_a_models_one_test_fails_naming_model_column_and_rows(demo_build, tmp_path):
    # accepted values, references, uniqueness (of a column and of a combination of columns) and
    # rows at all are checked in the model's one model_checks test: a bad row still fails, and the
    # message names the model, the column(s) and how many rows, never a value
    from pipelines.dbt_runner import _invoke

    with changed_copy(demo_build, tmp_path) as (warehouse, con):
        con.execute("update raw.la_reference set status = 'closed' where new_la_code in "
                    "(select la_code from staging.stg_reference__local_authorities order by la_code limit 3)")
        outside = con.execute("select count(*) from staging.stg_reference__local_authorities "
                              "where status not in ('live', 'terminated')").fetchone()[0]
        con.execute("insert into marts.dim_period select * from marts.dim_period order by period_key limit 2")
        con.execute("insert into marts.fct_scorecard select * from marts.fct_scorecard order by la_code, kpi_id limit 3")
        con.execute("delete from marts.fct_scorecard_summary")
        gone = [k for (k,) in con.execute("select distinct kpi_id from marts.fct_kpi_values order by 1 limit 2").fetchall()]
        unmatched = {model: con.execute(f"select count(*) from marts.{model} where kpi_id in (?, ?)", gone).fetchone()[0]
                     for model in ("fct_kpi_values", "fct_kpi_benchmarks", "fct_scorecard")}
        con.execute("delete from marts.dim_kpi where kpi_id in (?, ?)", gone)
    assert outside >= 3 and all(unmatched.values())
    with pytest.raises(DbtBuildError) as caught:  # the tests alone, on the tables as changed above
        _invoke("test", ["--select", " ".join(f"{model},test_name:model_checks" for model in (
            "stg_reference__local_authorities", "fct_kpi_values", "dim_period", "fct_scorecard",
            "fct_scorecard_summary"))], warehouse)
    message = str(caught.value)
    assert message.startswith("dbt test failed: test "), message
    # a test that breaks several checks names each: "(fct_scorecard: the combination ...; fct_scorecard: kpi_id ...)"
    assert f"(stg_reference__local_authorities: status is not one of live, terminated on {outside} row(s))" in message
    assert "(dim_period: period_key is not unique on 4 row(s))" in message
    assert "(fct_scorecard_summary: the table is empty)" in message
    assert "closed" not in message and gone[0] not in message and gone[1] not in message and "\n" not in message
    assert sorted(p for r in caught.value.summary.failed for p in r.problems) == [
        "dim_period: period_key is not unique on 4 row(s)",
        # a test that reads dim_kpi is selected with it: every model whose kpi_id lost its KPI says so
        f"fct_kpi_benchmarks: kpi_id is not a kpi_id of dim_kpi on {unmatched['fct_kpi_benchmarks']} row(s)",
        f"fct_kpi_values: kpi_id is not a kpi_id of dim_kpi on {unmatched['fct_kpi_values']} row(s)",
        f"fct_scorecard: kpi_id is not a kpi_id of dim_kpi on {unmatched['fct_scorecard']} row(s)",
        "fct_scorecard: the combination reporting_date, la_code, kpi_id is not unique on 6 row(s)",
        "fct_scorecard_summary: the table is empty",
        f"stg_reference__local_authorities: status is not one of live, terminated on {outside} row(s)"]


def test_every_check_of_a_model_is_kept_in_its_one_test(manifest):
    # a model's (or seed's) checks are one model_checks test, except a check with a config of its own
    # (a `where`): no model keeps a test per column or per kind, which would cost a dbt node each
    merged: dict[str, dict] = {}
    own_config = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        assert node["test_metadata"]["name"] == "model_checks", node["unique_id"]
        model = node["attached_node"].split(".")[-1]
        if node["config"].get("where"):
            own_config.append((model, node["config"]["where"]))
            continue
        assert model not in merged, f"{model} has two model_checks tests"
        merged[model] = {k: v for k, v in node["test_metadata"]["kwargs"].items() if k != "model"}
    assert sorted(own_config) == [("fct_kpi_values", "geo_level = 'la'"), ("fct_kpi_values", "is_preferred"),
                                  ("int_kpi_source_values", "is_current")]
    assert merged["dim_la"] == {
        "not_empty": True, "unique": ["la_code"], "not_null": ["la_code", "current_la_code", "la_name"],
        "accepted_values": {"status": ["live", "terminated"]},
        "relationships": [{"column": "current_la_code", "to": "ref('dim_la')", "field": "la_code"}]}
    assert merged["dim_kpi"]["accepted_values"] == {
        "family": ["S", "E", "P", "L"], "unit": ["count", "percent", "score", "rate"],
        "polarity": ["High", "Low", "Context"]}
    assert merged["fct_kpi_values"]["relationships"] == [
        {"column": "kpi_id", "to": "ref('dim_kpi')", "field": "kpi_id"},
        {"column": "period_key", "to": "ref('dim_period')", "field": "period_key"}]
    assert {"geo_level", "geo_code", "kpi_id", "period_key", "value_status"} <= set(merged["fct_kpi_values"]["not_null"])
    counts = {kind: sum(len(k.get(kind) or []) for k in merged.values())
              for kind in ("not_null", "unique", "unique_combinations", "accepted_values", "relationships")}
    # as many checks as the tests per column and kind had: 226 with the 7 singular tests
    assert counts == {"not_null": 103, "unique": 13, "unique_combinations": 35, "accepted_values": 32,
                      "relationships": 26}
    assert sum(bool(k.get("not_empty")) for k in merged.values()) == 7
    for model, kwargs in merged.items():
        node = next(n for n in [*manifest["nodes"].values()] if n["name"] == model and n["resource_type"] in
                    ("model", "seed"))
        named = {*(kwargs.get("not_null") or []), *(kwargs.get("unique") or []), *(kwargs.get("accepted_values") or {})}
        assert named <= set(node["columns"]), f"{model}: {named - set(node['columns'])}"
