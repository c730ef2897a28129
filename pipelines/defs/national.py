"""Dagster assets for national published data and local extracts: one asset per raw table, a thin wrapper over the
readers and the loader (the logic stays callable without Dagster). They load into the run's build
copy of the warehouse; nothing is visible to readers until the publish asset runs."""


import dagster as dg
from dagster import AssetExecutionContext

from pipelines import config
from pipelines.defs.build import run_warehouse
from pipelines.ingest.loader import connect_warehouse, ensure_meta, load_raw_file, plan_files
from pipelines.ingest.sen2.load import expected_la_numbers, load_sen2, sen2_inputs
from pipelines.ingest.sources import SOURCES, SourceSpec

NATIONAL_GROUP = "national"
LOCAL_GROUP = "local"
# Readers of these sources look LA numbers up in the LA reference, so it loads first.
NEEDS_LA_REFERENCE = {"lait_indicators", "statistical_neighbours"}


def load_source(spec: SourceSpec, context: AssetExecutionContext) -> dg.MaterializeResult:
    """Load every file of `spec`'s source found in the drop-zone; fail if any file fails."""
    planned = [(raw, s) for raw, s, _ in plan_files([config.raw_dir()], only=spec) if s is not None and s.table == spec.table]
    con = connect_warehouse(run_warehouse(context))
    try:
        ensure_meta(con)
        if spec.family == "sen2_return":  # SEN2 returns stream through their own loader (raw.sen2_*)
            expected = expected_la_numbers(config.scorecard_la())
            results = [load_sen2(con, files, expected_la=expected) for files in sen2_inputs([config.raw_dir()])]
        else:
            results = [load_raw_file(con, raw, s) for raw, s in planned]
        rows = con.execute(f"select count(*) from raw.{spec.table}").fetchall()[0][0] if results else 0
    finally:
        con.close()
    for r in results:
        context.log.info(f"{r.file}: {r.status} ({r.rows} rows) {r.message}")
    failed = [r for r in results if r.status not in ("loaded", "skipped")]
    if failed:
        raise dg.Failure(description="; ".join(r.message for r in failed))
    return dg.MaterializeResult(metadata={
        "files": len(results),
        "loaded": sum(r.status == "loaded" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "table rows": rows,
        "file hashes": dg.MetadataValue.text(", ".join(r.sha256[:12] for r in results)),
    })


def national_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(["raw", "la_reference"])] if spec.table in NEEDS_LA_REFERENCE else []

    @dg.asset(
        key=["raw", spec.table],
        group_name=LOCAL_GROUP if spec.table.startswith(("local_", "sen2_")) else NATIONAL_GROUP,
        deps=deps, kinds={"duckdb", "polars"},
        description=f"{spec.title}: files named like /{spec.name_pattern}/ in SEND_RAW, loaded into raw.{spec.table}.",
    )
    def _load(context: AssetExecutionContext) -> dg.MaterializeResult:
        return load_source(spec, context)

    return _load


national_assets = [national_asset(spec) for spec in SOURCES if not spec.table.startswith(("local_", "sen2_"))]
local_assets = [national_asset(spec) for spec in SOURCES if spec.table.startswith(("local_", "sen2_"))]
