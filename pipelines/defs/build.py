"""Each Dagster run writes into its own build copy of the warehouse; the publish asset swaps it in.

Every asset of a run asks for the same copy (named by the run id); the first one makes it.
"""

from pathlib import Path

from dagster import AssetExecutionContext

from pipelines import config
from pipelines.publish import prepare_build


def run_warehouse(context: AssetExecutionContext) -> Path:
    """The build copy of the warehouse for this run (created from the published one on first use)."""
    return prepare_build(config.warehouse_path(), context.run_id)
