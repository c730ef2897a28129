"""The reports people read (group "reports"): the refresh engine's reports stage, from the
published warehouse."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.refresh import RefreshRun

REPORTS_GROUP = "reports"


@dg.asset(key=["scorecard_reports"], group_name=REPORTS_GROUP, deps=[dg.AssetKey(["published_warehouse"])],
          kinds={"html", "excel"}, required_resource_keys={"refresh_run"},
          description="The scorecard of the configured LA (HTML, Excel, publication variant) and the "
                      "data-quality report, in <warehouse dir>/reports/.")
def scorecard_reports(context: AssetExecutionContext) -> dg.MaterializeResult:
    run: RefreshRun = context.resources.refresh_run
    paths = run.reports()
    for path in paths:
        context.log.info(f"wrote {path}")
    return dg.MaterializeResult(metadata={"files": dg.MetadataValue.text("\n".join(paths))})
