"""The dbt project as Dagster assets (group "warehouse"): staging, intermediate and marts, with
dbt's data tests and unit tests as asset checks. dbt runs against the run's build copy."""

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.config import DBT_PROJECT_DIR, dbt_target_dir
from pipelines.defs.national import UNREAD_KEY
from pipelines.ingest.sources import SOURCES
from pipelines.refresh import RefreshRun
from pipelines.refresh_state import reads_outside_sources

WAREHOUSE_GROUP = "warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=dbt_target_dir())


def manifest_is_stale(manifest: Path) -> bool:
    """No manifest (a fresh clone), or a model, seed, macro, test or the project file newer than it."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"] + [
        path for folder in ("models", "seeds", "macros", "tests") for path in (DBT_PROJECT_DIR / folder).rglob("*")]
    return any(path.stat().st_mtime > written for path in sources if path.is_file())


if manifest_is_stale(dbt_project.manifest_path):  # dagster-dbt reads the manifest at import
    from pipelines.dbt_runner import dbt_parse

    dbt_parse()


def _listed(values: object) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values)


def _ref_name(to: object) -> str:
    """"ref('dim_la')" -> "dim_la"."""
    return str(to or "").replace("ref('", "").replace("')", "")


def _model_checks(model: str, kwargs: Mapping[str, Any]) -> str:
    """A model_checks test (dbt_project/macros/tests/model_checks.sql) in words: each of its checks."""
    parts = ["the table has rows"] if kwargs.get("not_empty") else []
    parts += [f"no two rows share a {column}" for column in kwargs.get("unique") or []]
    parts += [f"no two rows share the same {_listed(columns)}" for columns in kwargs.get("unique_combinations") or []]
    if kwargs.get("not_null"):
        parts.append(f"every row fills in {_listed(kwargs['not_null'])}")
    parts += [f"{column} is one of: {_listed(values)}" for column, values in (kwargs.get("accepted_values") or {}).items()]
    parts += [f"every {r.get('column')} is a {r.get('field')} of {_ref_name(r.get('to'))}"
              for r in kwargs.get("relationships") or []]
    return f"In {model}: " + "; ".join(parts)


def test_description(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """A dbt test in plain words: its own YAML description when it has one, else what the generic
    test checks with the column's YAML description, else a singular test's leading comment. A test
    with a `where` of its own says which rows it checks."""
    if (test.get("description") or "").strip():
        return test["description"].strip()
    if (test.get("meta") or {}).get("description"):
        return str(test["meta"]["description"])
    parent = manifest["nodes"].get(test.get("attached_node") or "", {})
    model = parent.get("name") or "the model"
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name") or test.get("column_name") or ""
    about = ((parent.get("columns") or {}).get(column) or {}).get("description", "").strip()
    named = f"{column} ({about.rstrip('.')})" if about else column
    where = (test.get("config") or {}).get("where")
    rows = f" (rows where {where})" if where else ""
    templates = {  # dbt's own generic tests, and the project's one test per model
        "not_null": lambda: f"{named} is filled in on every row of {model}",
        "unique": lambda: f"No two rows of {model} share a {named}",
        "accepted_values": lambda: f"{named} in {model} is one of: {_listed(kwargs.get('values', []))}",
        "relationships": lambda: f"Every {named} in {model} is a {kwargs.get('field')} of {_ref_name(kwargs.get('to'))}",
        "model_checks": lambda: _model_checks(model, kwargs),
    }
    if metadata.get("name") in templates:
        return templates[metadata["name"]]() + rows
    comment = []
    for line in (test.get("raw_code") or "").splitlines():
        if not line.startswith("--"):
            break
        comment.append(line.lstrip("- ").strip())
    return " ".join(comment) or f"dbt test {test.get('name')} on {model}"


# A model that reads warehouse tables outside the dbt sources (refresh_state.OUTSIDE_SOURCES: meta.file_loads,
# which every raw asset's load and the unread files' record write) depends on every raw asset: a run of any
# source rebuilds it and what depends on it (the stale flags of int_source_health).
RAW_KEYS = [UNREAD_KEY, *(AssetKey(["raw", spec.table]) for spec in SOURCES)]


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return WAREHOUSE_GROUP

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if reads_outside_sources(self.get_resource_props(manifest, unique_id)):
            return spec.merge_attributes(deps=RAW_KEYS)
        return spec

    def get_asset_check_spec(self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> AssetCheckSpec | None:
        check = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"].get(unique_id) or manifest.get("unit_tests", {}).get(unique_id)
        if check is None or test is None:
            return check
        return AssetCheckSpec(name=check.name, asset=check.asset_key, description=test_description(manifest, test),
                              additional_deps=check.additional_deps, metadata=check.metadata, blocking=check.blocking)


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=WarehouseTranslator(),
            required_resource_keys={"dbt", "refresh_run"})
def warehouse_models(context: AssetExecutionContext):
    """dbt build of the selected models (seeds, models, tests) into the run's build copy: the
    refresh engine's dbt stage, run by dagster-dbt so each model and test shows in Dagster."""
    run: RefreshRun = context.resources.refresh_run
    dbt: DbtCliResource = context.resources.dbt
    with run.stage("dbt"), run.dbt_target():
        yield from dbt.cli(["build"], context=context).stream()


# cron, IDEs and `.venv/bin/dagster` run without the virtualenv activated: name dbt's executable.
dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
