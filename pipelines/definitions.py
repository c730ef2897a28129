"""The Dagster code location: `dagster dev -m pipelines.definitions`.

Policies are set once here: the in-process executor (the multiprocess one re-imports the code for
every step and its processes collide on DuckDB's single-writer lock); every run builds into its
own copy of the warehouse and ends with the publish asset.
"""

import dagster as dg

from pipelines.defs.automation import build_automation
from pipelines.defs.national import NATIONAL_GROUP, national_assets
from pipelines.defs.publish import publish_asset

upstream_of_publish = [key for asset in national_assets for key in asset.keys]
published_warehouse = publish_asset(upstream_of_publish)

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
    assets=[*national_assets, published_warehouse],
    jobs=[national_job, refresh_job],
    schedules=[monthly_schedule],
    sensors=[drop_zone_sensor],
    executor=dg.in_process_executor,
)
