"""The last step of every run: swap the run's build copy in as the published warehouse."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import config
from pipelines.defs.build import run_warehouse
from pipelines.publish import publish

PUBLISH_GROUP = "publish"


def publish_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=["published_warehouse"], group_name=PUBLISH_GROUP, deps=upstream, kinds={"duckdb"},
              description="The published warehouse: the run's tested build copy, swapped in by an atomic rename; "
                          "the previous file is kept as a dated snapshot.")
    def published_warehouse(context: AssetExecutionContext) -> dg.MaterializeResult:
        published = config.warehouse_path()
        snapshot = publish(run_warehouse(context), published)
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(published)),
            "previous snapshot": dg.MetadataValue.text(str(snapshot) if snapshot else "none (first publish)"),
        })

    return published_warehouse
