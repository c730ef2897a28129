"""The reports people read (group "reports"), written from the published warehouse."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import config
from pipelines.jobs import write_outputs

REPORTS_GROUP = "reports"


@dg.asset(key=["scorecard_reports"], group_name=REPORTS_GROUP, deps=[dg.AssetKey(["published_warehouse"])],
          kinds={"html", "excel"},
          description="The scorecard of the configured LA (HTML, Excel, publication variant) and the "
                      "data-quality report, in <warehouse dir>/reports/.")
def scorecard_reports(context: AssetExecutionContext) -> dg.MaterializeResult:
    paths = write_outputs(config.warehouse_path())
    for path in paths:
        context.log.info(f"wrote {path}")
    return dg.MaterializeResult(metadata={"files": dg.MetadataValue.text("\n".join(map(str, paths)))})
