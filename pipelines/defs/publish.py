"""The publish step of every run: the refresh engine's publish stage (KPI and RAG diff, the run in
meta.refresh_runs, the atomic swap of the run's build copy)."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.refresh import RefreshRun

PUBLISH_GROUP = "publish"


def publish_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=["published_warehouse"], group_name=PUBLISH_GROUP, deps=upstream, kinds={"duckdb"},
              required_resource_keys={"refresh_run"},
              description="The published warehouse: the run's tested build copy, swapped in by an atomic rename; "
                          "the previous file is kept as a dated snapshot.")
    def published_warehouse(context: AssetExecutionContext) -> dg.MaterializeResult:
        run: RefreshRun = context.resources.refresh_run
        snapshot = run.publish()
        summary = run.summary
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(run.published)),
            "previous snapshot": dg.MetadataValue.text(str(snapshot) if snapshot else "none (first publish)"),
            "files loaded": len(summary.loaded), "files unchanged": len(summary.skipped),
            "files refused": dg.MetadataValue.text("\n".join(summary.quarantined) or "none"),
            "KPI values changed": summary.kpis_changed,
            "RAG changes": dg.MetadataValue.text("\n".join(summary.rag_changes) or "none"),
        })

    return published_warehouse
