"""The Dagster code location: `make dagster` (dagster dev -m pipelines.definitions).

Policies are set once here: the in-process executor (the multiprocess one re-imports the code for
every step and its processes collide on DuckDB's single-writer lock); every run builds into its
own copy of the warehouse, the publish asset swaps it in, and the reports are written from it.
Groups: national, local, warehouse (dbt), publish, reports.
"""

import dagster as dg

from pipelines.defs.automation import build_automation
from pipelines.defs.national import NATIONAL_GROUP, local_assets, national_assets
from pipelines.defs.publish import publish_asset
from pipelines.defs.reports import scorecard_reports
from pipelines.defs.warehouse import dbt_resource, warehouse_models

published_warehouse = publish_asset(
    [key for asset in (*national_assets, *local_assets, warehouse_models) for key in asset.keys]
)

national_job = dg.define_asset_job(
    "national_ingest", selection=dg.AssetSelection.groups(NATIONAL_GROUP) | dg.AssetSelection.assets(
        published_warehouse),
    description="Load every national file in the drop-zone into raw.* and publish.",
)
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(),
    description="The full refresh: every source, model and report, then the atomic publish.",
)
monthly_schedule, drop_zone_sensor = build_automation(refresh_job)

defs = dg.Definitions(
    assets=[*national_assets, *local_assets, warehouse_models, published_warehouse, scorecard_reports],
    jobs=[national_job, refresh_job],
    schedules=[monthly_schedule],
    sensors=[drop_zone_sensor],
    resources={"dbt": dbt_resource},
    executor=dg.in_process_executor,
)
