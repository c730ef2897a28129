"""The Dagster code location: `dagster dev -m pipelines.definitions`.

Policies are set once here: the in-process executor (the multiprocess one re-imports the code for
every step and its processes collide on DuckDB's single-writer lock).
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.national import NATIONAL_GROUP, national_assets

national_job = dg.define_asset_job(
    "national_ingest", selection=dg.AssetSelection.groups(NATIONAL_GROUP),
    description="Load every national file in the drop-zone into raw.*",
)

defs = dg.Definitions(
    assets=[*national_assets],
    jobs=[national_job],
    executor=dg.in_process_executor,
)
