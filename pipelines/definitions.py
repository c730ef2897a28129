"""The Dagster code location: `make dagster` (dagster dev -m pipelines.definitions).

One job, `refresh`, started by the monthly schedule, the drop-zone sensor (just the changed
sources and what depends on them) or by hand in the UI. Its assets are thin wrappers of the
refresh engine (pipelines.refresh), the same one `send-scorecard refresh` and `make demo` run: the
`refresh_run` resource holds the writer lock and the run's build copy, and logs and notifies at the
end of the run. The in-process executor runs every step in one process (the multiprocess one would
re-import the code for every step and its processes would collide on DuckDB's single-writer lock).
Groups: national, local, warehouse (dbt), publish, reports.
"""

import dagster as dg

from pipelines.defs.automation import build_automation
from pipelines.defs.national import local_assets, national_assets
from pipelines.defs.publish import publish_asset
from pipelines.defs.reports import scorecard_reports
from pipelines.defs.run import refresh_run
from pipelines.defs.warehouse import dbt_resource, warehouse_models

published_warehouse = publish_asset(
    [key for asset in (*national_assets, *local_assets, warehouse_models) for key in asset.keys]
)

refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(),
    description="The refresh: every source (or the sensor's changed ones), the dbt models and tests, the "
                "atomic publish and the reports, with the run log and notification.",
)
monthly_schedule, drop_zone_sensor = build_automation(refresh_job)

defs = dg.Definitions(
    assets=[*national_assets, *local_assets, warehouse_models, published_warehouse, scorecard_reports],
    jobs=[refresh_job],
    schedules=[monthly_schedule],
    sensors=[drop_zone_sensor],
    resources={"dbt": dbt_resource, "refresh_run": refresh_run},
    executor=dg.in_process_executor,
)
