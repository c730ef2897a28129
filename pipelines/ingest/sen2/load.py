"""Load an SEN2 return (XML file or flat-export folder) into the warehouse, batch by batch, in one transaction.

Tables written (all pseudonymised; see rows.SCHEMAS): raw.sen2_persons, raw.sen2_requests,
raw.sen2_placements, raw.sen2_needs, plus raw.sen2_returns (one row per return: LA, reference date,
extract date, specification version, counts). A return replaces the rows of an earlier load with the
same extract date. The validation rules (validate.py) run on every batch: their counts go to
dq.sen2_validation_summary (shown in the data-quality report), the offending records, by pseudonymous
key only, to casework_restricted.sen2_validation_issues (the restricted schema: not for publication).
The quality gate (GX suite expectations/sen2_requests.json) checks the requests of every batch before
they are written: a blocking failure rolls the return back and quarantines it.

Memory holds one batch (BATCH_PERSONS persons) of an XML return at a time: each batch is written, as it
is read, to staging tables (schema sen2_staging, committed batch by batch so DuckDB keeps nothing in
memory); once the whole return has passed, one transaction replaces the raw tables' rows from the
staging tables. A failure anywhere drops the staging tables: nothing of the return is kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path

import duckdb
import polars as pl

from pipelines.errors import SendScorecardError
from pipelines.ingest.load_log import LoadResult, _record, ensure_meta, table_exists
from pipelines.ingest.sen2.flat_reader import Sen2FlatReader, flat_module, is_flat_export_file
from pipelines.ingest.sen2.validate import ISSUE_SCHEMA, summarise, validate_batch
from pipelines.ingest.sen2.xml_reader import Sen2XmlReader, file_sha256
from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.quality.gates import GateResult, record_result, validate_frame

log = logging.getLogger(__name__)

RESTRICTED_SCHEMA = "casework_restricted"
SOURCE = "sen2_requests"  # the registry entry (sources.py): its suite gates every batch
RETURNS_SCHEMA = {
    "la_number": pl.String, "collection": pl.String, "year": pl.Int32, "reference_date": pl.Date,
    "extract_date": pl.Date, "spec_version": pl.String, "software_code": pl.String, "persons": pl.Int64,
    "requests": pl.Int64,
}


def is_sen2_input(path: Path) -> bool:
    """An SEN2 XML return or one module of a flat export (decided by name; the reader checks the content)."""
    return path.suffix.lower() == ".xml" or is_flat_export_file(path.name)


def sen2_inputs(paths: Iterable[Path]) -> list[list[Path]]:
    """The SEN2 returns under `paths`: each XML file alone, each flat export as the list of its module files."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
                      and is_sen2_input(p)]
        elif path.is_file() and is_sen2_input(path):
            files.append(path)
    exports: dict[tuple[Path, str], list[Path]] = {}
    returns: list[list[Path]] = []
    for file in files:
        if file.suffix.lower() == ".xml":
            returns.append([file])
        else:
            exports.setdefault((file.parent, flat_module(file.name)[0]), []).append(file)
    return returns + list(exports.values())


def expected_la_numbers(scorecard_la: str | None) -> set[str] | None:
    """The 3-digit LA numbers a return may carry in its header: the scorecard LA (code, number or name)."""
    if not scorecard_la:
        return None
    from pipelines.ingest.la_reference import bundled_la_reference

    reference = bundled_la_reference()
    wanted = scorecard_la.strip().lower()
    rows = reference.filter(
        (pl.col("new_la_code").str.to_lowercase() == wanted) | (pl.col("old_la_code").cast(pl.String) == wanted)
        | (pl.col("la_name").str.to_lowercase() == wanted))
    numbers = {str(v) for v in rows["old_la_code"].to_list() if v is not None}
    return numbers or {scorecard_la.strip()}


def _lineage(frame: pl.DataFrame, extract_date: dt.date, name: str, sha256: str, at: dt.datetime) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(extract_date, pl.Date).alias("extract_date"), pl.lit(name).alias("source_file"),
        pl.lit(sha256).alias("file_sha256"), pl.lit(at).alias("loaded_at"))


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("incoming_sen2", frame.to_arrow())
    try:
        con.execute(f"create table if not exists {table} as select * from incoming_sen2 where false")
        con.execute(f"insert into {table} by name select * from incoming_sen2")
    finally:
        con.unregister("incoming_sen2")


def _replace(con: duckdb.DuckDBPyConnection, table: str, extract_date: dt.date) -> None:
    schema, name = table.split(".")
    if table_exists(con, schema, name):
        con.execute(f"delete from {table} where extract_date = ?", [extract_date])


def open_reader(files: list[Path], key: str | bytes | None, expected_la: set[str] | None,
                batch_persons: int | None = None):
    extra = {"batch_persons": batch_persons} if batch_persons else {}
    if len(files) == 1 and files[0].suffix.lower() == ".xml":
        return Sen2XmlReader(files[0], key=key, expected_la=expected_la, **extra)
    return Sen2FlatReader(files, key=key, expected_la=expected_la, **extra)


def load_sen2(con: duckdb.DuckDBPyConnection, files: list[Path], key: str | bytes | None = None,
              expected_la: set[str] | None = None, batch_persons: int | None = None) -> LoadResult:
    """Read, validate and load one SEN2 return; on any problem nothing of it is kept (the reason is recorded)."""
    ensure_meta(con)
    started = dt.datetime.now()
    result = LoadResult(file=files[0].name if len(files) == 1 else f"{flat_module(files[0].name)[0]} (flat export)",
                        source=SOURCE, status="loaded")
    try:
        reader = open_reader(files, key, expected_la, batch_persons)
        result.file = reader.file
        sha = file_sha256(files[0]) if isinstance(reader, Sen2XmlReader) else reader.sha256
        result.sha256 = sha
        if table_exists(con, "raw", "sen2_returns") and con.execute(
                "select count(*) > 0 from raw.sen2_returns where file_sha256 = ?", [sha]).fetchall()[0][0]:
            result.status, result.message = "skipped", "already loaded (same content)"
            return result
        for schema in ("raw", "dq", RESTRICTED_SCHEMA):
            con.execute(f"create schema if not exists {schema}")
        gate: list[tuple[GateResult, pl.DataFrame]] = []
        _drop_staging(con)
        memory_limit = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        con.execute(f"set memory_limit = '{LOAD_MEMORY_LIMIT}'")
        try:  # batches and the move from staging into raw, all under the cap
            quarantined = _load_and_move(con, reader, sha, started, gate, result)
        finally:
            con.execute(f"set memory_limit = '{memory_limit}'")
        if quarantined:
            return result
        _drop_staging(con)
        if result.status == "loaded" and gate:
            record_result(con, *gate[-1])
    except SendScorecardError as exc:
        result.status, result.message = "failed", str(exc)
    except duckdb.Error as exc:
        result.status, result.message = "failed", f"{result.file}: the warehouse refused the rows ({exc})"
    if result.status == "failed":
        _record(con, result, None, started)
    result.seconds = (dt.datetime.now() - started).total_seconds()
    return result


def _load_and_move(con: duckdb.DuckDBPyConnection, reader, sha: str, started: dt.datetime, gate: list,
                   result: LoadResult) -> bool:
    """Gate and stage every batch, then in one transaction replace the extract date's rows by the staged
    ones and record the load; True when a batch was quarantined (nothing kept, `result` says why)."""
    try:
        summary = _load_batches(con, reader, sha, started, gate)
    except _Quarantined:
        _drop_staging(con)
        failed, frame = gate[-1]
        record_result(con, failed, frame)
        result.status, result.message = "quarantined", failed.message
        _record(con, result, None, started)
        result.seconds = (dt.datetime.now() - started).total_seconds()
        return True
    except BaseException:
        _drop_staging(con)
        raise
    created = _create_targets(con)
    con.execute("begin transaction")
    try:
        header = reader.header
        _move_staging(con, header.extract_date)
        returns = pl.DataFrame([{
            "la_number": header.la_number, "collection": header.collection, "year": header.year,
            "reference_date": header.reference_date, "extract_date": header.extract_date,
            "spec_version": header.spec_version, "software_code": header.software_code,
            "persons": header.persons, "requests": header.requests}], schema=RETURNS_SCHEMA)
        _replace(con, "raw.sen2_returns", header.extract_date)
        _insert(con, "raw.sen2_returns", _lineage(returns, header.extract_date, reader.file, sha, started))
        _replace(con, "dq.sen2_validation_summary", header.extract_date)
        _insert(con, "dq.sen2_validation_summary", _lineage(summary, header.extract_date, reader.file, sha,
                                                            started))
        result.rows = header.requests
        broken = summary.filter(pl.col("records") > 0)
        result.message = (
            f"SEN2 return of LA {header.la_number} (specification {header.spec_version}, reference date "
            f"{header.reference_date:%d/%m/%Y}): {header.persons:,} persons, {header.requests:,} requests"
            + ("; validation: " + ", ".join(f"{r} {n:,}" for r, n in broken.select("rule", "records").iter_rows())
               if broken.height else "; every validation rule passed"))
        _record(con, result, None, started)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        for table in created:
            con.execute(f"drop table if exists {table}")
        _drop_staging(con)
        raise
    return False


def _create_targets(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create, empty and before the moving transaction, the tables a first return stages rows for; returns
    those created (dropped again if the move fails). Not inside the transaction: DuckDB 2.0 answers a group
    by over a table created in the same transaction as a large insert with no rows (see
    pipelines/ingest/loader.create_table)."""
    created = []
    for table in STAGED:
        schema, name = table.split(".")
        if table_exists(con, STAGING, name) and not table_exists(con, schema, name):
            con.execute(f"create table {table} as select * from {_staging(table)} where false")
            created.append(table)
    return created


class _Quarantined(Exception):
    """A batch failed a blocking expectation of the gate."""


STAGING = "sen2_staging"
# DuckDB's buffer pool keeps the pages it writes while memory allows (by default most of the RAM), so
# the load caps it for its own duration: memory then stays flat whatever the size of the return.
LOAD_MEMORY_LIMIT = "256MB"
STAGED = ("raw.sen2_persons", "raw.sen2_requests", "raw.sen2_placements", "raw.sen2_needs",
          f"{RESTRICTED_SCHEMA}.sen2_validation_issues")


def _staging(table: str) -> str:
    return f"{STAGING}.{table.split('.')[1]}"


def _drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop schema if exists {STAGING} cascade")


def _move_staging(con: duckdb.DuckDBPyConnection, extract_date: dt.date) -> None:
    """Inside the caller's transaction: replace the extract date's rows of each table by the staged ones."""
    for table in STAGED:
        _replace(con, table, extract_date)
        if table_exists(con, STAGING, table.split(".")[1]):
            con.execute(f"create table if not exists {table} as select * from {_staging(table)} where false")
            con.execute(f"insert into {table} by name select * from {_staging(table)}")


def _load_batches(con: duckdb.DuckDBPyConnection, reader, sha: str, started: dt.datetime,
                  gate: list) -> pl.DataFrame:
    """Gate and insert every batch (replacing an earlier load of the same extract date); returns the rule
    counts. `gate` receives the gate result of the last batch checked (the failing one, if any)."""
    counts: pl.DataFrame | None = None
    con.execute(f"create schema if not exists {STAGING}")
    for frames in reader.batches():
        header = reader.header
        requests = _lineage(frames["sen2_requests"], header.extract_date, reader.file, sha, started)
        checked = validate_frame(con, SOURCES_BY_TABLE[SOURCE], requests, reader.file, sha)
        gate[:] = [(checked, requests)]
        if not checked.passed:
            raise _Quarantined()
        for table, frame in frames.items():
            _insert(con, f"{STAGING}.{table}", _lineage(frame, header.extract_date, reader.file, sha, started))
        issues = validate_batch(frames, header.reference_date)
        if issues.height:
            _insert(con, f"{STAGING}.sen2_validation_issues",
                    _lineage(issues, header.extract_date, reader.file, sha, started))
        batch_counts = summarise(issues)
        counts = batch_counts if counts is None else counts.with_columns(
            (pl.col("records") + batch_counts["records"]).alias("records"))
    if reader.header is None:
        raise SendScorecardError(f"{reader.file}: the return holds no header")
    return counts if counts is not None else summarise(pl.DataFrame(schema=ISSUE_SCHEMA))
