"""Restricted data apart: person-level tables never sit in the file analysts open.

The dbt models and the SEN2 loader put person-level tables (the open-requests list, SEN2
validation issues) in the `casework_restricted` schema of the build. A run's build is owner-only
(its folder 0700) and gets the restricted tables back when it is prepared (`restore_restricted`), so
the loader and dbt see them as before; before the build is published they are moved to a separate
restricted warehouse, `<warehouse dir>/restricted/<name>-restricted.duckdb`, created with owner-only
permissions (folder 0700, file 0600), and dropped from the build (`move_restricted`): the published
warehouse holds aggregates only. Only the scorecard owner's casework team (the account
that runs the refresh) may open the restricted file; JSNA authors and analysts open the published one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipelines.config import DUCKDB_STORAGE_VERSION
from pipelines.ingest.loader import connect_warehouse

RESTRICTED_SCHEMA = "casework_restricted"


def restricted_path(published: Path) -> Path:
    """The restricted warehouse beside `published`: <dir>/restricted/<stem>-restricted.duckdb."""
    published = Path(published)
    return published.parent / "restricted" / f"{published.stem}-restricted{published.suffix}"


def _tables(con, catalog: str, schema: str) -> list[str]:
    return [name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = ? "
        "order by table_name", [catalog, schema]).fetchall()]


def restore_restricted(build: Path, published: Path) -> None:
    """Make the build folder owner-only and copy the restricted warehouse's tables into the build."""
    os.chmod(Path(build).parent, 0o700)
    source = restricted_path(published)
    if not source.exists():
        return
    con = connect_warehouse(build)
    try:
        con.execute(f"attach '{source}' as restricted_old (read_only)")
        con.execute(f"create schema if not exists {RESTRICTED_SCHEMA}")
        for table in _tables(con, "restricted_old", RESTRICTED_SCHEMA):
            con.execute(f'create or replace table {RESTRICTED_SCHEMA}."{table}" as '
                        f'select * from restricted_old.{RESTRICTED_SCHEMA}."{table}"')
        con.execute("detach restricted_old")
    finally:
        con.close()


def move_restricted(build: Path, published: Path) -> Path | None:
    """Move the build's restricted tables (all of them: the build got the earlier ones back when it was
    prepared) to a new restricted warehouse that replaces the old one, and drop them from the build;
    returns the restricted file, or None when the build has no restricted table."""
    target = restricted_path(published)
    con = connect_warehouse(build)
    try:
        tables = _tables(con, con.execute("select current_database()").fetchone()[0], RESTRICTED_SCHEMA)
        if not tables:
            return None
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(target.parent, 0o700)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(handle)
        os.unlink(temp)  # DuckDB creates the file itself
        try:
            con.execute(f"attach '{temp}' as restricted_new (storage_version '{DUCKDB_STORAGE_VERSION}')")
            con.execute(f"create schema restricted_new.{RESTRICTED_SCHEMA}")
            for table in tables:
                con.execute(f'create table restricted_new.{RESTRICTED_SCHEMA}."{table}" as '
                            f'select * from {RESTRICTED_SCHEMA}."{table}"')
            con.execute("detach restricted_new")
            os.chmod(temp, 0o600)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        con.execute(f"drop schema {RESTRICTED_SCHEMA} cascade")
        con.execute("checkpoint")
    finally:
        con.close()
    return target
