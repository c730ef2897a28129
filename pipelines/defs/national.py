"""One Dagster asset per raw table (national published data and local extracts): a thin wrapper of
the refresh engine's ingest stage for that source, loading into the run's build copy.

A refused file (quarantined by its quality gate, or unreadable) does not fail the asset: its source
keeps its last good data and the rest of the run is published. Each asset carries its source's
Great Expectations suite as asset checks (the expectation's plain-words description, the failing
row count), read from the gate's results in dq.expectation_results."""


import dagster as dg
from dagster import AssetExecutionContext

from pipelines.ingest.loader import LoadResult, connect_warehouse, table_exists
from pipelines.ingest.sources import SOURCES, SourceSpec
from pipelines.quality.suites import load_suite
from pipelines.refresh import SEN2, UNREAD, RefreshRun

NATIONAL_GROUP = "national"
LOCAL_GROUP = "local"
LOCAL_PREFIXES = ("local_", "sen2_")  # the LA's own extracts and its SEN2 return


def check_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    """The source's expectation suite as asset checks, each described in plain words."""
    key = dg.AssetKey(["raw", spec.table])
    specs = []
    for expectation in load_suite(spec)[0]["expectations"]:
        meta = expectation["meta"]
        blocking = meta.get("severity") == "fail"
        specs.append(dg.AssetCheckSpec(
            name=meta["check"], asset=key,
            description=meta["description"] + (" (a failure refuses the file)" if blocking else " (a warning)"),
        ))
    return specs


def check_results(run: RefreshRun, spec: SourceSpec, results: list[LoadResult],
                  specs: list[dg.AssetCheckSpec]) -> list[dg.AssetCheckResult]:
    """Each check's latest result for the source's files in the drop-zone (a file skipped as unchanged
    keeps the result of the run that loaded it)."""
    hashes = sorted({r.sha256 for r in results if r.sha256})
    found: dict[str, tuple] = {}
    if hashes:
        con = connect_warehouse(run.build, read_only=True)
        try:
            if table_exists(con, "dq", "expectation_results"):
                found = {row[0]: row for row in con.execute(f"""
                    select check_name, count(*) as files, count(*) filter (where success = false) as failed,
                        coalesce(sum(unexpected_count) filter (where success = false), 0) as failing_rows,
                        count(*) filter (where success is null) as not_checked, max(severity) as severity
                    from (select *, row_number() over (partition by file_sha256, check_name
                                                       order by checked_at desc) as latest
                          from dq.expectation_results
                          where source = ? and file_sha256 in ({", ".join("?" * len(hashes))}))
                    where latest = 1 group by check_name""", [spec.table, *hashes]).fetchall()}
        finally:
            con.close()
    checks = []
    for check in specs:
        _, files, failed, failing_rows, not_checked, severity = found.get(check.name, (check.name, 0, 0, 0, 0, "fail"))
        checks.append(dg.AssetCheckResult(
            check_name=check.name, asset_key=check.asset_key, passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if severity == "fail" else dg.AssetCheckSeverity.WARN,
            description=check.description,
            metadata={"failing rows": int(failing_rows), "files checked": int(files),
                      "files failing": int(failed), "files not checked": int(not_checked)},
        ))
    return checks


def reference_deps(spec: SourceSpec) -> list[dg.AssetKey]:
    """The reference sources the refresh loads before `spec`'s files (SourceSpec.is_reference, by load order):
    reading and gating any file read them (the LA reference's codes, e.g. the old codes of an older release,
    and LAIT's dictionary for the units of measures), so the job loads them first, as ingest_paths does."""
    return [dg.AssetKey(["raw", other.table]) for other in SOURCES
            if other.is_reference and other.load_order < spec.load_order]


def raw_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    deps = reference_deps(spec)
    specs = check_specs(spec)

    @dg.asset(
        key=["raw", spec.table], group_name=LOCAL_GROUP if spec.table.startswith(LOCAL_PREFIXES) else NATIONAL_GROUP,
        deps=deps, kinds={"duckdb", "polars"}, check_specs=specs, required_resource_keys={"refresh_run"},
        description=f"{spec.title}: files named like /{spec.name_pattern}/ in SEND_RAW, loaded into raw.{spec.table}.",
    )
    def _load(context: AssetExecutionContext) -> dg.MaterializeResult:
        run: RefreshRun = context.resources.refresh_run
        # SEN2 returns stream through their own loader into raw.sen2_*
        results = run.ingest(only=SEN2 if spec.family == "sen2_return" else spec)
        for r in results:
            log = context.log.warning if r.status not in ("loaded", "skipped") else context.log.info
            log(f"{r.file}: {r.status} ({r.rows} rows) {r.message}")
        refused = [r for r in results if r.status not in ("loaded", "skipped")]
        return dg.MaterializeResult(
            metadata={
                "files": len(results),
                "loaded": sum(r.status == "loaded" for r in results),
                "skipped": sum(r.status == "skipped" for r in results),
                "refused": len(refused),
                "refused files": dg.MetadataValue.text("\n".join(r.message for r in refused) or "none"),
                "file hashes": dg.MetadataValue.text(", ".join(r.sha256[:12] for r in results)),
            },
            check_results=check_results(run, spec, results, specs),
        )

    return _load


UNREAD_KEY = dg.AssetKey(["raw", "unread_files"])


@dg.asset(key=UNREAD_KEY, group_name=NATIONAL_GROUP, kinds={"duckdb"}, required_resource_keys={"refresh_run"},
          description="The files in SEND_RAW that no source reads: of no known source (listed with the source each "
                      "looks most like) or that cannot be opened (a damaged zip: recorded in meta.file_loads and "
                      "quarantined with the reason), as `send-scorecard refresh` reports them. Nothing is loaded.")
def unread_files(context: AssetExecutionContext) -> dg.MaterializeResult:
    run: RefreshRun = context.resources.refresh_run
    results = run.ingest(only=UNREAD)
    for r in results:
        context.log.warning(r.message)
    return dg.MaterializeResult(metadata={
        "not a known source": dg.MetadataValue.text(
            "\n".join(r.message for r in results if r.status == "unknown") or "none"),
        "cannot be opened": dg.MetadataValue.text(
            "\n".join(r.message for r in results if r.status != "unknown") or "none"),
    })


national_assets = [unread_files, *(raw_asset(spec) for spec in SOURCES if not spec.table.startswith(LOCAL_PREFIXES))]
local_assets = [raw_asset(spec) for spec in SOURCES if spec.table.startswith(LOCAL_PREFIXES)]
