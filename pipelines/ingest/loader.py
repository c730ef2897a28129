"""Load national files into the DuckDB warehouse: one raw table per source, one transaction per file.

A file already loaded (same SHA-256 still present in its table) is skipped; a new version of a
source replaces the rows it supersedes (see SourceSpec.replace_by); a file that fails leaves its
table exactly as it was and is recorded in meta.file_loads with the reason.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import datetime as dt
import gc
import io
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import DUCKDB_STORAGE_VERSION, scorecard_la
from pipelines.errors import SendScorecardError, SourceFormatError, UnknownSourceError
from pipelines.ingest.ees import (
    RowFilter,
    read_ees_csv,
    read_ees_metadata,
    read_ees_xlsx,
    read_ehcp_main_table,
)
from pipelines.ingest.la_reference import bundled_la_reference, read_la_reference
from pipelines.ingest.lait import read_lait_dictionary, read_lait_indicators, read_lait_la_list
from pipelines.ingest.load_log import (
    LoadResult,
    _record,
    ensure_meta,
    table_exists,
    tables_changed,
    tables_remembered,
)
from pipelines.ingest.local import (
    date_from_file_name,
    read_local_casework,
    read_local_exclusions,
    read_local_offer_visits,
    read_local_post16,
    read_local_training,
)
from pipelines.ingest.long_tables import (
    SPLIT_FAMILIES,
    VALUE_COLUMNS,
    add_row_columns,
    create_split,
    delete_split,
    drop_split,
    insert_split,
    is_split,
    row_relation,
    split_existing,
    split_frame,
    values_part,
)
from pipelines.ingest.neighbours import read_statistical_neighbours
from pipelines.ingest.rawfile import RawFile, decode_text, expand_paths, open_raw_files
from pipelines.ingest.releases import coverage, mark_superseded, release_order
from pipelines.ingest.row_keys import RefusedRows, refuse_unkeyable_rows
from pipelines.ingest.sen2.load import expected_la_numbers, is_sen2_input, load_sen2, sen2_inputs
from pipelines.ingest.sources import SOURCES_BY_TABLE, SourceSpec, detect_source, nearest_source
from pipelines.ingest.targets import read_targets

log = logging.getLogger(__name__)

# Readers whose LA rows are keyed by new_la_code: un-keyable rows are refused row by row.
KEYED_BY_LA_CODE = ("ees_csv", "ees_xlsx", "ehcp_main_table")


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


def add_release_columns(con: duckdb.DuckDBPyConnection) -> None:
    """The raw tables of the sources (SOURCES) written before releases were kept get the release columns
    (every row current). Other raw tables (the SEN2 returns', pipelines/ingest/sen2) have none, after a
    cold ingest as after an incremental one."""
    for (table,) in con.execute("""select t.table_name from information_schema.tables as t
            where t.table_schema = 'raw' and t.table_type = 'BASE TABLE' and not exists (select 1 from information_schema.columns as c
            where c.table_schema = 'raw' and c.table_name = t.table_name and c.column_name = 'is_superseded')
            and t.table_name in (select unnest($tables))""", {"tables": list(SOURCES_BY_TABLE)}).fetchall():
        con.execute(f'alter table raw."{table}" add column if not exists release_order varchar')
        con.execute(f'alter table raw."{table}" add column is_superseded boolean default false')


def current_only(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The where clause that leaves out superseded rows (none in a table loaded before releases were kept)."""
    has = con.execute("select count(*) from information_schema.columns where table_schema = 'raw' "
                      "and table_name = ? and column_name = 'is_superseded'", [table]).fetchall()[0][0]
    return "where not coalesce(is_superseded, false)" if has else ""


# While ingest_paths runs in this thread: [con, the LA reference _la_reference last read, or None]
_REFERENCE = threading.local()


def _la_reference(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The current rows of raw.la_reference, else the bundled list. Inside ingest_paths read once until a file
    of the LA reference is loaded (load_raw_file) or a caller's on_file runs."""
    state = getattr(_REFERENCE, "state", None)
    if state is not None and state[0] is con and state[1] is not None:
        return state[1]
    frame = None
    if table_exists(con, "raw", "la_reference"):
        frame = con.sql(f"select * from raw.la_reference {current_only(con, 'la_reference')}").pl()
    frame = frame if frame is not None and frame.height else bundled_la_reference()
    if state is not None and state[0] is con:
        state[1] = frame
    return frame


def _la_reference_changed(con: duckdb.DuckDBPyConnection) -> None:
    state = getattr(_REFERENCE, "state", None)
    if state is not None and state[0] is con:
        state[1] = None


def read_source(raw: RawFile, spec: SourceSpec, con: duckdb.DuckDBPyConnection | None = None,
                keep_rows: RowFilter | None = None) -> pl.DataFrame:
    """Parse one file with the reader of its source family (no lineage yet). `keep_rows`: for the
    families keyed by LA code (KEYED_BY_LA_CODE), applied to the file's wide rows before they go long."""
    readers: dict[str, Callable[[], pl.DataFrame]] = {
        "ees_csv": lambda: read_ees_csv(raw, spec, keep_rows),
        "ees_xlsx": lambda: read_ees_xlsx(raw, spec, keep_rows),
        "ees_metadata": lambda: read_ees_metadata(raw, spec),
        "ehcp_main_table": lambda: read_ehcp_main_table(raw, spec, keep_rows),
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


def with_lineage(frame: pl.DataFrame, raw: RawFile, loaded_at: dt.datetime,
                 spec: SourceSpec | None = None) -> pl.DataFrame:
    """The file's lineage on every row; with `spec`, also its release's publication order."""
    order = release_order(frame, spec, raw.release, loaded_at) if spec is not None and spec.grain else None
    return frame.with_columns(
        pl.lit(raw.name).alias("source_file"),
        pl.lit(raw.sha256).alias("file_sha256"),
        pl.lit(raw.release, pl.String).alias("release"),
        pl.lit(loaded_at).alias("loaded_at"),
        pl.lit(order, pl.String).alias("release_order"),
        pl.lit(False).alias("is_superseded"),
    )


def already_loaded(con: duckdb.DuckDBPyConnection, spec: SourceSpec, raw: RawFile) -> bool:
    """The same content is in the table already: the same bytes and, for an extract whose month its name
    may give, the same month (identical bytes named for a new month are read again)."""
    if not table_exists(con, "raw", spec.table):
        return False
    named = date_from_file_name(raw.base_name) if spec.month_from_name else None
    if named is None:
        return con.execute(f"select count(*) > 0 from {row_relation(con, spec.table)} where file_sha256 = ?",
                           [raw.sha256]).fetchall()[0][0]
    first = named.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    column = f'"{spec.month_from_name}"'
    return con.execute(f"select count(*) > 0 from {row_relation(con, spec.table)} where file_sha256 = ? "
                       f"and {column} >= ? "
                       f"and {column} < ?", [raw.sha256, first, following]).fetchall()[0][0]


def unseen_columns(con: duckdb.DuckDBPyConnection, spec: SourceSpec, frame: pl.DataFrame) -> list[str]:
    """The file's columns that no earlier file of its source had: new columns of its raw table and, for
    the long EES layouts (a file's indicator columns become `measure` values), new measures. None for a
    source's first file."""
    if not table_exists(con, "raw", spec.table):
        return []
    existing = _column_names(con, spec.table)
    unseen = [c for c in frame.columns if c not in existing]
    if "measure" in frame.columns and "measure" in existing:
        measures = values_part(spec.table) if is_split(con, spec.table) else f"raw.{spec.table}"
        known = {m for (m,) in con.execute(f"select distinct measure from {measures}").fetchall()}
        unseen += sorted(m for m in frame["measure"].drop_nulls().unique().to_list() if m not in known)
    return unseen


def _column_names(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of raw.<table> (a table or a view), as an empty select of it describes them: a bind and no
    scan, about a fifth of the time of a duckdb_columns() query."""
    return {d[0] for d in con.execute(f'select * from raw."{table}" limit 0').description}


def create_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec, frame: pl.DataFrame) -> bool:
    """Create `spec`'s raw table, empty, with the frame's columns, unless it exists; True when created.

    Called before the file's transaction, never in it: DuckDB 2.0 answers a GROUP BY or DISTINCT over
    a table created in the same transaction as an insert of more than one row group (122,880 rows)
    with no rows at all, on this connection, until a checkpoint - the marks of the file's release and
    its coverage sentence read the table so. A table created here for a file that then fails is
    dropped again (drop_if_empty).

    A long EES table is made as the view of its two parts (pipelines/ingest/long_tables.py); one an
    earlier version wrote as a plain table is split so now."""
    if table_exists(con, "raw", spec.table):
        if spec.family in SPLIT_FAMILIES and not is_split(con, spec.table):
            split_existing(con, spec.table)
        return False
    with _columns_of(con, frame) as columns:
        if spec.family in SPLIT_FAMILIES and all(c in frame.columns for c in (*VALUE_COLUMNS, "source_row")):
            create_split(con, spec.table, columns, frame.columns)
        else:
            con.execute(f"create table raw.{spec.table} as select * from {columns}")
    tables_changed(con)
    return True


@contextlib.contextmanager
def _columns_of(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Iterator[str]:
    """The name of a view, for the block, of `frame`'s columns with their DuckDB types and no rows."""
    con.register("incoming_columns", frame.head(0).to_arrow())
    try:
        yield "incoming_columns"
    finally:
        con.unregister("incoming_columns")


def drop_if_empty(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    """Drop the table create_table made for a file that failed (no other file has rows in it)."""
    if table_exists(con, "raw", spec.table) and not con.execute(
            f"select count(*) from {row_relation(con, spec.table)}").fetchall()[0][0]:
        if is_split(con, spec.table):
            drop_split(con, spec.table)
        else:
            con.execute(f"drop table raw.{spec.table}")
            tables_changed(con)


LINEAGE_COLUMNS = ("source_file", "file_sha256", "release", "loaded_at", "release_order", "is_superseded")


def write_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec, frame: pl.DataFrame) -> None:
    """Replace what `frame` supersedes and insert it, inside the caller's transaction, into the table
    create_table made (columns the table lacks are added).

    The frame goes to DuckDB as an Arrow table of string views (polars' own buffers, not a copy) and
    its lineage columns (one value per file, see with_lineage) as constants of the insert, so a file
    costs little more memory than its frame. A split long table (pipelines/ingest/long_tables.py) gets
    the file's source rows in its rows part and the values in its values part."""
    lineage = [c for c in LINEAGE_COLUMNS if c in frame.columns] if frame.height else []
    values = list(frame.select(lineage).row(0)) if lineage else []
    split = is_split(con, spec.table)
    if split:
        rows = split_frame(frame, [c for c in frame.columns if c not in VALUE_COLUMNS and c not in lineage])
        if rows is None:
            raise SourceFormatError(frame.get_column("source_file")[0] if "source_file" in frame.columns else "?",
                                    "has source rows whose geography or filters differ between their indicators")
    # "incoming": what the statements below read of the frame. A split table's rows and values go in through
    # insert_split; of its frame only the keys of a replacing delete are read here (an Arrow copy of the whole
    # long frame, categories and all, was about 0.5 s of a national cold ingest).
    keys = list(spec.replace_by) if not spec.grain else []
    incoming = frame.drop(lineage) if not split else frame.select(keys) if keys else None
    if incoming is not None:
        con.register("incoming", incoming.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        existing = _column_names(con, spec.table)
        new = [c for c in frame.columns if c not in existing]
        if new:
            with _columns_of(con, frame) as columns:
                types = {d[0]: d[1] for d in con.execute(f"select * from {columns}").description}
            if split:
                add_row_columns(con, spec.table, {name: _duck_type(types[name]) for name in new})
            else:
                for name in new:
                    con.execute(f'alter table raw.{spec.table} add column "{name}" {_duck_type(types[name])}')
        delete = None
        if spec.grain:
            pass  # nothing is deleted: older releases' rows are marked superseded after the insert
        elif spec.replace_by:
            keys = ", ".join(f'"{c}"' for c in spec.replace_by)
            delete = (f"where ({keys}) in (select distinct ({keys}) from incoming)" if len(spec.replace_by) > 1
                      else f"where {keys} in (select distinct {keys} from incoming)")
        else:
            delete = ""
        if split:
            if delete is not None:
                delete_split(con, spec.table, delete)
            insert_split(con, spec.table, rows, frame.select("source_row", *VALUE_COLUMNS), dict(zip(lineage, values, strict=True)))
        else:
            if delete is not None:
                con.execute(f"delete from raw.{spec.table} {delete}")
            constants = "".join(f', ${i} as "{c}"' for i, c in enumerate(lineage, start=1))
            con.execute(f"insert into raw.{spec.table} by name select *{constants} from incoming", values)
        if spec.grain:  # the figures this file carries: its coverage sentence reads their marks
            mark_superseded(con, spec, frame.get_column("file_sha256")[0] if frame.height else None)
    finally:
        if incoming is not None:
            con.unregister("incoming")


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the run's loads through to the warehouse file, once at the end of a run (a table is
    created outside its first file's transaction, see create_table, so the loading connection reads
    every committed load without one). If another connection holds a transaction the checkpoint
    waits for a later one."""
    try:
        con.execute("checkpoint")
    except duckdb.Error:
        pass


def _duck_type(type_code: object) -> str:
    return str(type_code) if str(type_code) not in ("STRING", "str") else "VARCHAR"


def load_raw_file(con: duckdb.DuckDBPyConnection, raw: RawFile, spec: SourceSpec,
                  release_columns_added: bool = False) -> LoadResult:
    """Load one file in one transaction; on any error the table is left as it was.

    `release_columns_added`: the caller ran add_release_columns on this connection already (once per run).
    The three parts (read, gate, write) are those ingest_paths runs overlapped for a run of files."""
    if not release_columns_added:
        add_release_columns(con)
    read = _read_file(con, raw, spec)
    if read.frame is None:
        return read.result
    from pipelines.quality.gates import validate_frame

    return _write_file(con, read, validate_frame(con, spec, read.frame, raw.name, raw.sha256))


@dataclasses.dataclass
class _ReadFile:
    """A file read for loading (_read_file): its frame with lineage, or (frame None) its final result."""

    raw: RawFile
    spec: SourceSpec
    result: LoadResult
    started: dt.datetime
    frame: pl.DataFrame | None = None
    refused: RefusedRows | None = None
    unseen: list[str] = dataclasses.field(default_factory=list)


def _read_file(con: duckdb.DuckDBPyConnection, raw: RawFile, spec: SourceSpec) -> _ReadFile:
    """The first part of a load: the file read (un-keyable rows refused), with its lineage; or skipped
    (already loaded) or failed, then recorded. Reads `spec`'s own table and the LA reference."""
    started = dt.datetime.now()
    read = _ReadFile(raw, spec, LoadResult(file=raw.name, source=spec.table, status="loaded", sha256=raw.sha256),
                     started)
    if already_loaded(con, spec, raw):
        read.result.status, read.result.message = "skipped", "already loaded (same content)"
        return read
    try:
        refusals: list[RefusedRows] = []

        def keyable(wide: pl.DataFrame) -> pl.DataFrame:
            kept, refused = refuse_unkeyable_rows(con, spec, wide, raw.name, raw.sha256, _la_reference(con))
            refusals.extend([refused] if refused else [])
            return kept

        frame = read_source(raw, spec, con, keyable if spec.family in KEYED_BY_LA_CODE else None)
        read.unseen = unseen_columns(con, spec, frame)
        read.refused = refusals[0] if refusals else None
        read.frame = with_lineage(frame, raw, started, spec)
    except (SendScorecardError, duckdb.Error) as exc:
        _failed(con, read, exc)
    return read


def _write_file(con: duckdb.DuckDBPyConnection, read: _ReadFile, gate) -> LoadResult:
    """The last part of a load: the gate's results recorded (issue 5), then the file quarantined when its
    gate failed, else written in one transaction."""
    from pipelines.quality.gates import record_gate

    raw, spec, result, frame, refused = read.raw, read.spec, read.result, read.frame, read.refused
    try:
        record_gate(con, gate, frame)
        if not gate.passed:
            result.status, result.message = "quarantined", gate.message
            _record(con, result, raw.release, read.started)
            result.seconds = (dt.datetime.now() - read.started).total_seconds()
            return result
        created = create_table(con, spec, frame)
        con.execute("begin transaction")
        try:
            write_table(con, spec, frame)
            result.rows = frame.height
            notes = [refused.sentence(raw.name, refused.count + frame["source_row"].n_unique())] if refused else []
            if spec.grain:
                notes.append(coverage(con, spec, raw.sha256).sentence(raw.release))
            if read.unseen:
                unseen = read.unseen
                shown = ", ".join(f"'{c}'" for c in unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5
                                                                    else "")
                notes.append(f"{len(unseen)} column(s) that no earlier file of the {spec.title} had: {shown} "
                             "(loaded; check what they mean before relying on them)")
            notes = [n.removeprefix("warning: ").rstrip(".") for n in notes if n]
            result.message = ("warning: " + "; ".join(notes) + ".") if notes else ""
            _record(con, result, raw.release, read.started)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            if created:
                drop_if_empty(con, spec)
            raise
    except (SendScorecardError, duckdb.Error) as exc:
        _failed(con, read, exc)
    result.seconds = (dt.datetime.now() - read.started).total_seconds()
    return result


def _failed(con: duckdb.DuckDBPyConnection, read: _ReadFile, exc: Exception) -> None:
    read.frame, read.result.status = None, "failed"
    read.result.message = (str(exc) if isinstance(exc, SendScorecardError)
                           else f"{read.raw.name}: the warehouse refused the rows ({exc})")
    _record(con, read.result, read.raw.release, read.started)
    read.result.seconds = (dt.datetime.now() - read.started).total_seconds()


def plan_files(paths: Iterable[Path], only: SourceSpec | None = None,
               ) -> list[tuple[RawFile | None, SourceSpec | None, LoadResult | None]]:
    """Every data file under `paths` with its source, reference sources first.

    A file that cannot be opened or matched becomes a failed LoadResult instead of stopping the rest.
    With `only`, just that source's files are read (by name) and nothing else is reported (not even a
    file that cannot be opened: record_unread reports those once a run).
    """
    planned = []
    for root, path in _files_with_roots(paths):
        if is_sen2_input(path):  # SEN2 returns stream through their own loader (ingest_paths)
            continue
        if only and not (path.name.lower().endswith(".zip") or only.matches_name(path.name)):
            continue
        try:
            for raw in open_raw_files(path, only.matches_name if only else lambda name: True):
                raw = _with_folder_release(raw, root, path)
                try:
                    planned.append((raw, detect_source(raw.base_name, raw.name), None))
                except UnknownSourceError:
                    # never silent: listed in the summary with the source it looks most like
                    planned.append((None, None, LoadResult(file=raw.name, source=None, status="unknown",
                                                           message=unknown_file_message(raw))))
        except SendScorecardError as exc:
            planned.append((None, None, LoadResult(file=path.name, source=None, status="failed", message=str(exc))))
    if only:  # a file of no source, or that cannot be opened, is record_unread's
        planned = [item for item in planned if item[1] is not None and item[1].table == only.table]
    planned.sort(key=lambda item: item[1].load_order if item[1] else -1)
    return planned


def record_unread(con: duckdb.DuckDBPyConnection, paths: Iterable[Path]) -> list[LoadResult]:
    """The files under `paths` that no source reads: of no known source ('unknown', with the source each looks
    most like) or that cannot be opened ('failed', e.g. a damaged zip), each recorded in meta.file_loads as
    ingest_paths records them. For a run that loads source by source (ingest_paths with `only`), which never
    sees them."""
    ensure_meta(con)
    failures = [failure for _, _, failure in plan_files(paths) if failure is not None]
    for failure in failures:
        _record(con, failure, None, dt.datetime.now())
    return failures


def unknown_file_message(raw: RawFile) -> str:
    """'x.csv is not a known source; the nearest is ...': by header when it is a CSV, else by name."""
    header: list[str] = []
    if raw.base_name.lower().endswith((".csv", ".csv.gz")):
        try:
            header = next(csv.reader(io.StringIO(decode_text(raw)[:20_000])), [])
        except (SendScorecardError, csv.Error):
            header = []
    spec, why = nearest_source(raw.base_name, header)
    return (f"{raw.name} is not a known source, so it was not loaded; the nearest is {spec.title} "
            f"({spec.table}, file name like /{spec.name_pattern}/) {why}.")


def _files_with_roots(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    return [(Path(root), path) for root in paths for path in expand_paths([Path(root)])]


def _with_folder_release(raw: RawFile, root: Path, path: Path) -> RawFile:
    """A loose file in a sub-folder of the scanned folder takes the sub-folder into its release label
    (`2025_release/timeliness_20_week`), so copies of one file from two releases can be told apart."""
    if raw.release is None or "!" in raw.name or not root.is_dir():
        return raw
    folder = path.parent.relative_to(root).as_posix() if path.parent != root else ""
    if not folder or folder == ".":
        return raw
    return dataclasses.replace(raw, release=f"{path.parent.name}/{raw.release}")


def _free_file_garbage() -> None:
    """Free what a file's gate left in reference cycles, once it has run (in the gate thread): the
    exceptions the gate's libraries catch keep the stack frames that hold the file's data frames
    (hundreds of MB for a big file) until Python's cyclic collector runs, which it seldom does, so
    a cold refresh held several files' frames at once. What survives is frozen (until the end of the
    run), so each collection walks only what one file made."""
    gc.collect()
    gc.freeze()


def ingest_paths(con: duckdb.DuckDBPyConnection, paths: Iterable[Path],
                 on_file: Callable[[LoadResult], None] | None = None,
                 on_plan: Callable[[int], None] | None = None, only: SourceSpec | None = None) -> list[LoadResult]:
    """Load every data file under `paths`; returns one LoadResult per file (failures included).

    `on_plan` hears how many files will be read, `on_file` each file's result (for progress bars). With
    `only` (the Dagster job's asset of one source), just that source's files: a file that no source reads
    or that cannot be opened is record_unread's, and the SEN2 returns have their own asset.
    """
    _REFERENCE.state, outer = [con, None], getattr(_REFERENCE, "state", None)
    try:
        with tables_remembered(con):
            results, returns = _load_planned(con, list(paths), on_file, on_plan, only)
    finally:
        _REFERENCE.state = outer
    # No whole-group pass of the marks: each file's transaction marked the figures it carries
    # (releases.mark_superseded), so the marks commit with the rows they follow from.
    _checkpoint(con)
    # SEN2 person-level returns (XML or flat export) load after the other local extracts.
    expected = expected_la_numbers(scorecard_la()) if returns else None
    for files in returns:
        result = load_sen2(con, files, expected_la=expected)
        results.append(result)
        if on_file:
            on_file(result)
    return results


def _load_planned(con: duckdb.DuckDBPyConnection, paths: list[Path], on_file: Callable[[LoadResult], None] | None,
                  on_plan: Callable[[int], None] | None, only: SourceSpec | None = None) -> tuple[list[LoadResult], list]:
    """ingest_paths' files but the SEN2 returns (returned, to load after them).

    Each file loads as load_raw_file loads it (read, gate, write in its own transaction), in the planned
    order, but the parts overlap: a file's gate (Great Expectations: Python, holding the GIL) runs in a
    worker thread while this thread writes the file before it and reads the file after it (DuckDB's and
    polars' native code, mostly without the GIL), so a run keeps both cores busy. A file is read and
    gated before the previous file is written only when that write cannot change what it reads (_reads_ahead).
    Meanwhile the GIL changes hands every GATE_SWITCH_INTERVAL instead of Python's 5 ms.
    """
    ensure_meta(con)
    results = []
    planned = plan_files(paths, only=only)
    if any(raw is not None and not already_loaded(con, spec, raw) for raw, spec, _ in planned):
        from pipelines.quality.gates import warm_up

        warm_up()  # GX imports in the background while the first files are read
    returns = sen2_inputs(paths) if only is None else []
    if on_plan:
        on_plan(len(planned) + len(returns))
    add_release_columns(con)
    gates = _GateThread(con)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(GATE_SWITCH_INTERVAL)
    try:
        started = None  # the file read early, in the previous turn, and its gate (or what its reader raised)
        for index, (raw, spec, failure) in enumerate(planned):
            if isinstance(started, Exception):
                raise started  # where reading the files one by one raises it: after the file before it
            if failure:
                _record(con, failure, None, dt.datetime.now())
                result = failure
            else:
                read, gate = started or gates.start(_read_file(con, raw, spec))
                following = planned[index + 1] if index + 1 < len(planned) else (None, None, None)
                early = None
                if following[2] is None and following[1] is not None and _reads_ahead(spec, following[1]):
                    try:
                        early = _read_file(con, following[0], following[1])
                    except Exception as exc:  # a reader's bug, not a refused file (those are results)
                        early = exc
                result = read.result
                checked = gate.result() if gate is not None else None
                started = gates.start(early) if isinstance(early, _ReadFile) else early  # gated while it is written
                if checked is not None:
                    result = _write_file(con, read, checked)
                if spec.table == "la_reference":
                    _la_reference_changed(con)
            results.append(result)
            if on_file:
                on_file(result)
                tables_changed(con)  # whatever the caller did
                _la_reference_changed(con)
    finally:
        gates.close()
        gc.unfreeze()
        sys.setswitchinterval(switch_interval)
    return results, returns


# How long (seconds) a thread may hold the GIL while another waits for it, during the overlapped loads: this
# thread hands each DuckDB or polars call back to Python dozens of times a file and then waits for the GIL
# the gate thread holds; at Python's 5 ms each such wait made a trivial insert ~5 ms instead of ~0.4 ms.
GATE_SWITCH_INTERVAL = 0.0005


def _reads_ahead(written: SourceSpec, following: SourceSpec) -> bool:
    """Whether a file of `following` may be read and gated while a file of `written` is written: reading and
    gating a file read its own table, its source's loads in meta.file_loads and the reference sources (the
    LA reference; LAIT's dictionary for the units of measures), so not after a file of the same table or of
    a reference source, which is written first."""
    return following.table != written.table and not written.is_reference


class _GateThread:
    """The quality gates of a run of files, one at a time and in order, in one worker thread, on a cursor of
    the warehouse (a gate only reads it: the results are recorded by the loading thread, _write_file)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def start(self, read: _ReadFile) -> tuple[_ReadFile, concurrent.futures.Future | None]:
        """The file's gate, started (None for a file already loaded or that failed to read)."""
        if read.frame is None:
            return read, None
        if self._pool is None:
            self._cursor = self._con.cursor()
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quality-gate")
        return read, self._pool.submit(self._gate, read)

    def _gate(self, read: _ReadFile):
        from pipelines.quality.gates import validate_frame

        try:
            return validate_frame(self._cursor, read.spec, read.frame, read.raw.name, read.raw.sha256)
        finally:
            _free_file_garbage()

    def close(self) -> None:
        """Wait for the gate that runs, if any (one queued behind it is cancelled), and close the cursor."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._cursor.close()
