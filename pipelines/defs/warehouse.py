"""The dbt project as Dagster assets (group "warehouse"): staging, intermediate and marts, with
dbt's data tests and unit tests as asset checks. dbt runs against the run's build copy."""

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines.config import DBT_PROJECT_DIR
from pipelines.defs.build import run_warehouse

WAREHOUSE_GROUP = "warehouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
if not dbt_project.manifest_path.exists():  # a fresh clone: dagster-dbt needs the manifest at import
    from pipelines.dbt_runner import dbt_parse

    dbt_parse()


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return WAREHOUSE_GROUP


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=WarehouseTranslator())
def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource):
    """dbt build of the selected models (seeds, models, tests) into the run's build copy."""
    # dbt reads the warehouse from SEND_WAREHOUSE (profiles.yml); point the dbt process at the build
    # copy and restore the variable at once, so the publish step still sees the published path.
    published = os.environ.get("SEND_WAREHOUSE")
    os.environ["SEND_WAREHOUSE"] = str(run_warehouse(context))
    try:
        invocation = dbt.cli(["build"], context=context)
    finally:
        if published is None:
            os.environ.pop("SEND_WAREHOUSE", None)
        else:
            os.environ["SEND_WAREHOUSE"] = published
    yield from invocation.stream()


# cron, IDEs and `.venv/bin/dagster` run without the virtualenv activated: name dbt's executable.
dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt"))
