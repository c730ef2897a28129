"""Load national files into the DuckDB warehouse: one raw table per source, one transaction per file.

A file already loaded (same SHA-256 still present in its table) is skipped; a new version of a
source replaces the rows it supersedes (see SourceSpec.replace_by); a file that fails leaves its
table exactly as it was and is recorded in meta.file_loads with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import DUCKDB_STORAGE_VERSION, scorecard_la
from pipelines.errors import SendScorecardError
from pipelines.ingest.ees import read_ees_csv, read_ees_metadata, read_ees_xlsx
from pipelines.ingest.la_reference import bundled_la_reference, read_la_reference
from pipelines.ingest.lait import read_lait_dictionary, read_lait_indicators, read_lait_la_list
from pipelines.ingest.load_log import LoadResult, _record, ensure_meta, table_exists
from pipelines.ingest.local import (
    read_local_casework,
    read_local_exclusions,
    read_local_offer_visits,
    read_local_post16,
    read_local_training,
)
from pipelines.ingest.neighbours import read_statistical_neighbours
from pipelines.ingest.rawfile import RawFile, expand_paths, open_raw_files
from pipelines.ingest.sen2.load import expected_la_numbers, is_sen2_input, load_sen2, sen2_inputs
from pipelines.ingest.sources import SourceSpec, detect_source
from pipelines.ingest.targets import read_targets

log = logging.getLogger(__name__)


def connect_warehouse(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created in the DuckDB 1.4 storage format when new)."""
    path = Path(path)
    if read_only:
        if not path.exists():
            raise SendScorecardError(
                f"There is no warehouse at {path} yet: run 'send-scorecard ingest' or 'make demo' first."
            )
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), config={"storage_compatibility_version": DUCKDB_STORAGE_VERSION})
    except duckdb.IOException as exc:
        raise SendScorecardError(f"The warehouse {path} could not be opened for writing: {exc}") from exc


def _la_reference(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    if table_exists(con, "raw", "la_reference"):
        frame = con.sql("select * from raw.la_reference").pl()
        if frame.height:
            return frame
    return bundled_la_reference()


def read_source(raw: RawFile, spec: SourceSpec, con: duckdb.DuckDBPyConnection | None = None) -> pl.DataFrame:
    """Parse one file with the reader of its source family (no lineage yet)."""
    readers: dict[str, Callable[[], pl.DataFrame]] = {
        "ees_csv": lambda: read_ees_csv(raw, spec),
        "ees_xlsx": lambda: read_ees_xlsx(raw, spec),
        "ees_metadata": lambda: read_ees_metadata(raw, spec),
        "lait": lambda: read_lait_indicators(raw, _la_reference(con) if con else bundled_la_reference()),
        "lait_dictionary": lambda: read_lait_dictionary(raw),
        "lait_la_list": lambda: read_lait_la_list(raw),
        "statistical_neighbours": lambda: read_statistical_neighbours(
            raw, _la_reference(con) if con else bundled_la_reference()),
        "la_reference": lambda: read_la_reference(raw),
        "local_casework": lambda: read_local_casework(raw),
        "local_exclusions": lambda: read_local_exclusions(raw),
        "local_offer_visits": lambda: read_local_offer_visits(raw),
        "local_training": lambda: read_local_training(raw),
        "local_post16": lambda: read_local_post16(raw),
        "kpi_targets": lambda: read_targets(raw),
    }
    return readers[spec.family]()


def with_lineage(frame: pl.DataFrame, raw: RawFile, loaded_at: dt.datetime) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(raw.name).alias("source_file"),
        pl.lit(raw.sha256).alias("file_sha256"),
        pl.lit(raw.release, pl.String).alias("release"),
        pl.lit(loaded_at).alias("loaded_at"),
    )


def already_loaded(con: duckdb.DuckDBPyConnection, spec: SourceSpec, sha256: str) -> bool:
    if not table_exists(con, "raw", spec.table):
        return False
    return con.execute(f"select count(*) > 0 from raw.{spec.table} where file_sha256 = ?", [sha256]).fetchall()[0][0]


def write_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec, frame: pl.DataFrame) -> None:
    """Replace what `frame` supersedes and insert it, inside the caller's transaction."""
    con.register("incoming", frame.to_arrow())
    try:
        con.execute(f"create table if not exists raw.{spec.table} as select * from incoming where false")
        existing = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema='raw' and table_name=?",
            [spec.table]).fetchall()}
        for name, dtype in zip(frame.columns, con.execute("select * from incoming limit 0").description,
                               strict=True):
            if name not in existing:
                con.execute(f'alter table raw.{spec.table} add column "{name}" {_duck_type(dtype[1])}')
        if spec.replace_by:
            keys = ", ".join(f'"{c}"' for c in spec.replace_by)
            con.execute(
                f"delete from raw.{spec.table} where ({keys}) in (select distinct ({keys}) from incoming)"
                if len(spec.replace_by) > 1 else
                f"delete from raw.{spec.table} where {keys} in (select distinct {keys} from incoming)"
            )
        else:
            con.execute(f"delete from raw.{spec.table}")
        con.execute(f"insert into raw.{spec.table} by name select * from incoming")
    finally:
        con.unregister("incoming")


def _duck_type(type_code: object) -> str:
    return str(type_code) if str(type_code) not in ("STRING", "str") else "VARCHAR"


def load_raw_file(con: duckdb.DuckDBPyConnection, raw: RawFile, spec: SourceSpec) -> LoadResult:
    """Load one file in one transaction; on any error the table is left as it was."""
    started = dt.datetime.now()
    result = LoadResult(file=raw.name, source=spec.table, status="loaded", sha256=raw.sha256)
    if already_loaded(con, spec, raw.sha256):
        result.status, result.message = "skipped", "already loaded (same content)"
        return result
    try:
        frame = with_lineage(read_source(raw, spec, con), raw, started)
        # Quality gate (issue 5): validate before the raw table changes; a failing file is quarantined.
        from pipelines.quality.gates import validate_before_load

        gate = validate_before_load(con, spec, frame, raw.name, raw.sha256)
        if not gate.passed:
            result.status, result.message = "quarantined", gate.message
            _record(con, result, raw.release, started)
            result.seconds = (dt.datetime.now() - started).total_seconds()
            return result
        con.execute("begin transaction")
        try:
            write_table(con, spec, frame)
            result.rows = frame.height
            _record(con, result, raw.release, started)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    except SendScorecardError as exc:
        result.status, result.message = "failed", str(exc)
    except duckdb.Error as exc:
        result.status, result.message = "failed", f"{raw.name}: the warehouse refused the rows ({exc})"
    if result.status == "failed":
        _record(con, result, raw.release, started)
    result.seconds = (dt.datetime.now() - started).total_seconds()
    return result


def plan_files(paths: Iterable[Path], only: SourceSpec | None = None,
               ) -> list[tuple[RawFile | None, SourceSpec | None, LoadResult | None]]:
    """Every data file under `paths` with its source, reference sources first.

    A file that cannot be opened or matched becomes a failed LoadResult instead of stopping the rest.
    With `only`, just that source's files are read (by name) and nothing else is reported.
    """
    planned = []
    for path in expand_paths(list(paths)):
        if is_sen2_input(path):  # SEN2 returns stream through their own loader (ingest_paths)
            continue
        if only and not (path.name.lower().endswith(".zip") or only.matches_name(path.name)):
            continue
        try:
            for raw in open_raw_files(path, only.matches_name if only else lambda name: True):
                try:
                    planned.append((raw, detect_source(raw.base_name, raw.name), None))
                except SendScorecardError as exc:
                    if raw.release:  # supporting files inside a release zip: not data we use
                        log.info("skipped %s: %s", raw.name, exc)
                        continue
                    raise
        except SendScorecardError as exc:
            planned.append((None, None, LoadResult(file=path.name, source=None, status="failed", message=str(exc))))
    planned.sort(key=lambda item: item[1].load_order if item[1] else -1)
    return planned


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: Iterable[Path],
                 on_file: Callable[[LoadResult], None] | None = None,
                 on_plan: Callable[[int], None] | None = None) -> list[LoadResult]:
    """Load every data file under `paths`; returns one LoadResult per file (failures included).

    `on_plan` hears how many files will be read, `on_file` each file's result (for progress bars).
    """
    ensure_meta(con)
    results = []
    paths = list(paths)
    planned = plan_files(paths)
    returns = sen2_inputs(paths)
    if on_plan:
        on_plan(len(planned) + len(returns))
    for raw, spec, failure in planned:
        result = failure or load_raw_file(con, raw, spec)
        if failure:
            _record(con, failure, None, dt.datetime.now())
        results.append(result)
        if on_file:
            on_file(result)
    # SEN2 person-level returns (XML or flat export) load after the other local extracts.
    expected = expected_la_numbers(scorecard_la()) if returns else None
    for files in returns:
        result = load_sen2(con, files, expected_la=expected)
        results.append(result)
        if on_file:
            on_file(result)
    return results
