"""The long raw tables of the EES readers, stored in two parts, read as one view.

An EES reader returns a file long: one row per source row and indicator (pipelines/ingest/ees.py), so
each source row's geography, filters and the file's lineage repeat once per indicator (48 times in the
EHC plans caseload file). Writing those repeats was most of the ingest's write. So the rows of such a
table are kept in a schema of their own, PARTS_SCHEMA, as two tables:

- `<table>_rows`: one row per source row of each file: `file_id`, the source row's columns (geography,
  filters, `source_row`), the file's lineage, `release_order` and `is_superseded` (the release marks
  follow the grain, which is part of the source row, so they are written here: far fewer rows);
- `<table>_values`: one row per source row and indicator: `file_id`, `source_row` and VALUE_COLUMNS;

and `raw.<table>` is a view joining them, with exactly the columns, names, types, order and rows the
single long table had, so everything that reads raw.<table> (dbt sources, the gate, status, exports)
reads it as before. A table is split when the warehouse has its parts (is_split), whatever the code
version that wrote it; a warehouse written when raw.<table> was a plain table is split on the next
write to that table (split_existing), and a plain table that does not have the long layout stays plain.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.ingest.load_log import table_exists, tables_changed

PARTS_SCHEMA = "raw_parts"
# The columns that differ between a source row's indicators: they go to the values part.
VALUE_COLUMNS = ("measure", "value_raw", "value", "value_status")
JOIN_COLUMNS = ("file_id", "source_row")
# The reader families whose frames have the long layout (ees_to_long).
SPLIT_FAMILIES = ("ees_csv", "ees_xlsx")


def rows_part(table: str) -> str:
    return f'{PARTS_SCHEMA}."{table}_rows"'


def values_part(table: str) -> str:
    return f'{PARTS_SCHEMA}."{table}_values"'


def is_split(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether raw.<table> is the view of the two parts."""
    return table_exists(con, PARTS_SCHEMA, f"{table}_rows")


def row_relation(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The relation with one row per source row of `table` (its rows part; the table itself when plain):
    for reads of the row columns (lineage, grain, release marks) that need no values, and for updates
    of the release marks."""
    return rows_part(table) if is_split(con, table) else f'raw."{table}"'


def has_long_layout(columns: list[str]) -> bool:
    return all(c in columns for c in (*VALUE_COLUMNS, "source_row", "file_sha256", "is_superseded"))


def _view_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select column_name from duckdb_columns() where schema_name = 'raw' and table_name = ? "
        "order by column_index", [table]).fetchall()]


def _create_view(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """raw.<table> as the join of its parts, with `columns` in this order (the long table's order)."""
    listed = ", ".join(f'{"v" if c in VALUE_COLUMNS else "r"}."{c}"' for c in columns)
    con.execute(f'create or replace view raw."{table}" as select {listed} from {values_part(table)} as v '
                f'join {rows_part(table)} as r on r.file_id = v.file_id and r.source_row = v.source_row')
    tables_changed(con)


def create_split(con: duckdb.DuckDBPyConnection, table: str, columns: str, names: list[str]) -> None:
    """Create the empty parts and the view of a new table; `columns` names a relation with the long
    frame's columns (`names`, in order) and types."""
    con.execute(f"create schema if not exists {PARTS_SCHEMA}")
    row_columns = ", ".join(f'"{c}"' for c in names if c not in VALUE_COLUMNS)
    con.execute(f"create table {rows_part(table)} as select 0::integer as file_id, {row_columns} from {columns}")
    values = ", ".join(f'"{c}"' for c in VALUE_COLUMNS)
    con.execute(f"create table {values_part(table)} as select 0::integer as file_id, source_row, {values} "
                f"from {columns}")
    _create_view(con, table, names)


def split_existing(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Split the plain long table raw.<table> (written by an earlier version) into its parts, in one
    transaction; True when split. A table whose rows do not have one set of row columns per file and
    source row (not the long layout) stays as it is."""
    columns = _view_columns(con, table)
    if not has_long_layout(columns):
        return False
    row_columns = [c for c in columns if c not in VALUE_COLUMNS]
    listed = ", ".join(f'"{c}"' for c in row_columns)
    lineage = '"file_sha256", "source_file", "release", "loaded_at", "release_order"'
    present = ", ".join(c for c in lineage.split(", ") if c.strip('"') in columns)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {PARTS_SCHEMA}")
        # a file: one load (its lineage); its id numbers the loads in the order they were made
        con.execute(f"""create temp table split_rows as select dense_rank() over (order by
            {'"loaded_at", ' if '"loaded_at"' in present else ''}{present}) :: integer as file_id, {listed}
            from (select distinct {listed} from raw."{table}")""")
        unique = con.execute("select count(*) = count(distinct (file_id, source_row)) from split_rows").fetchall()[0][0]
        if not unique:
            con.execute("rollback")
            return False
        con.execute(f"create table {rows_part(table)} as select * from split_rows order by file_id, source_row")
        # (file, source row) has one set of row columns: the file's lineage and the source row find it
        match = " and ".join(f'r.{c} is not distinct from t.{c}' for c in [*present.split(", "), '"source_row"'])
        values = ", ".join(f't."{c}"' for c in VALUE_COLUMNS)
        con.execute(f"""create table {values_part(table)} as select r.file_id, t.source_row, {values}
            from raw."{table}" as t join split_rows as r on {match}""")
        con.execute("drop table split_rows")
        con.execute(f'drop table raw."{table}"')
        _create_view(con, table, columns)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        tables_changed(con)
    return True


def split_frame(frame: pl.DataFrame, row_columns: list[str]) -> pl.DataFrame | None:
    """The frame's source rows (one row each, with `row_columns`), when every row of a source row has
    the same row columns; else None. The EES readers' frames come indicator by indicator, each block
    the source rows in the same order: checked by one comparison of the blocks after the first with the
    first repeated, on the columns' codes (cheap, and few calls: each waits for the GIL while a quality
    gate runs in another thread); any other order, by grouping."""
    if not frame.height:
        return frame.select(row_columns)
    n = frame.get_column("source_row").n_unique()
    if frame.height % n == 0:
        codes = frame.select(pl.col(c).to_physical() for c in row_columns)  # a category's code: equal codes, equal text
        first = codes.slice(0, n)
        if frame.height == n or codes.slice(n).equals(pl.concat([first] * (frame.height // n - 1))):
            return frame.slice(0, n).select(row_columns)
    rows = frame.select(row_columns).unique(subset=["source_row"], keep="first", maintain_order=True)
    distinct = frame.select(pl.col(c).to_physical() for c in row_columns).n_unique()
    return rows if distinct == rows.height else None


def insert_split(con: duckdb.DuckDBPyConnection, table: str, rows: pl.DataFrame, values: pl.DataFrame,
                 constants: dict[str, object]) -> None:
    """Insert one file's source rows and values (inside the caller's transaction) under a new file id;
    `constants`: the lineage columns, one value for the file."""
    (file_id,) = con.execute(f"select coalesce(max(file_id), 0) + 1 from {rows_part(table)}").fetchall()[0]
    newest = pl.CompatLevel.newest()
    con.register("incoming_rows", rows.to_arrow(compat_level=newest))
    con.register("incoming_values", values.to_arrow(compat_level=newest))
    try:
        names = list(constants)
        listed = "".join(f', ${i} as "{c}"' for i, c in enumerate(names, start=2))
        con.execute(f"insert into {rows_part(table)} by name select $1 as file_id, *{listed} from incoming_rows",
                    [file_id, *constants.values()])
        con.execute(f"insert into {values_part(table)} by name select $1 as file_id, * from incoming_values",
                    [file_id])
    finally:
        con.unregister("incoming_rows")
        con.unregister("incoming_values")


def add_row_columns(con: duckdb.DuckDBPyConnection, table: str, types: dict[str, str]) -> None:
    """New columns of a split table (a newer file's; never a value column): added to the rows part and
    at the end of the view, as `alter table add column` adds them to a plain table."""
    columns = _view_columns(con, table)
    for name, kind in types.items():
        con.execute(f'alter table {rows_part(table)} add column "{name}" {kind}')
    _create_view(con, table, [*columns, *types])


def delete_split(con: duckdb.DuckDBPyConnection, table: str, where: str) -> None:
    """Delete the source rows `where` selects (SQL over the rows part, alias-free) and their values."""
    con.execute(f"delete from {rows_part(table)} {where}")
    con.execute(f"""delete from {values_part(table)} as v where not exists (select 1 from {rows_part(table)} as r
        where r.file_id = v.file_id and r.source_row = v.source_row)""")


def drop_split(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f'drop view if exists raw."{table}"')
    con.execute(f"drop table if exists {values_part(table)}")
    con.execute(f"drop table if exists {rows_part(table)}")
    tables_changed(con)
