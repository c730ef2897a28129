"""Releases over time (design.md section 8): a release's identity and publication order, which rows
it supersedes, and what a newer release no longer carries.

Every raw row keeps its release. A raw table holds every release ever loaded; for each grain
value of a source (for an EES file: period and geography, see SourceSpec.grain) the rows of the
newest release are current and the older ones are marked `is_superseded`. Nothing is deleted.

The publication order of a file, `release_order`, sorts as text:
  1. the latest period the file covers (a release that covers a later period is newer);
  2. the edition year in the release's name (`..._2025.zip`, `2025_release/`), if any;
  3. the time it was loaded: only when two files cannot be told apart by 1 and 2 (a corrected
     copy of the same release) does the one loaded later win.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.ingest.load_log import schema_tables, table_exists
from pipelines.ingest.long_tables import row_relation
from pipelines.ingest.sources import SOURCES, SourceSpec

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
NO_PERIOD = "0000"
GEO_LABEL_LIMIT = 5  # geographies named in a warning before "and N more"


def edition_year(release: str | None) -> int | None:
    """The latest standalone year in a release name: `education-health-and-care-plans_2025` -> 2025."""
    years = [int(y) for y in _YEAR.findall(release or "")]
    return max(years) if years else None


def period_rank(period: object) -> str:
    """A text that sorts periods by when they end: 2024 < 202425 (ends 2025) < 2025-26; dates as is."""
    text = str(period).strip() if period is not None else ""
    if isinstance(period, dt.date):
        return period.strftime("%Y%m%d")
    digits = re.findall(r"\d+", text)
    if not digits:
        return NO_PERIOD
    first = digits[0]
    if len(first) == 6:  # 202324: academic or financial year ending in 2024
        return f"{int(first[:4]) + 1:04d}{first}"
    if len(first) == 4 and len(digits) > 1 and len(digits[-1]) in (2, 4):  # 2014-16, 2023/24
        last = digits[-1]
        end = int(last) if len(last) == 4 else int(first[:2] + last)
        return f"{end:04d}{text}"
    if len(first) == 8:  # 20240131
        return first
    return f"{first[:4]:0>4}{text}" if len(first) >= 4 else NO_PERIOD


def latest_period(frame: pl.DataFrame, spec: SourceSpec) -> str:
    """The release's latest period as a sortable text ("0000" when the source has no period)."""
    columns = [c for c in spec.order_columns if c in frame.columns]
    ranks = [period_rank(v) for c in columns for v in frame.get_column(c).drop_nulls().unique().to_list()]
    return max(ranks, default=NO_PERIOD)


def release_order(frame: pl.DataFrame, spec: SourceSpec, release: str | None, loaded_at: dt.datetime) -> str:
    return f"{latest_period(frame, spec)}|{edition_year(release) or 0:04d}|{loaded_at:%Y-%m-%d %H:%M:%S.%f}"


# --- superseded rows ------------------------------------------------------------------------------------

def group_tables(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> list[SourceSpec]:
    """The raw tables whose releases compete with `spec`'s (the EHC plans tables and the older main
    table share one group), those that exist."""
    members = [s for s in SOURCES if s.grain and (s.table == spec.table or (
        spec.release_group and s.release_group == spec.release_group))]
    if len(members) == 1:
        return members if table_exists(con, "raw", spec.table) else []
    existing = schema_tables(con, "raw")
    return [s for s in members if s.table in existing]


def _target(spec: SourceSpec) -> str:
    """The target of a row: its own table, or the table named in `target_source` (older layouts)."""
    return '"target_source"' if spec.target_column else f"'{spec.table}'"


def mark_superseded(con: duckdb.DuckDBPyConnection, spec: SourceSpec, sha256: str | None = None) -> None:
    """Recompute `is_superseded` for `spec`'s table and its group: within each target and grain,
    the rows of every release but the newest are superseded.

    With `sha256` (the file just written to `spec.table`), only the figures that file carries are
    recomputed: a figure's newest release can change only where a new release carries it, so marks
    right before the file stay right after it for every other figure (nothing of a grain source is
    deleted; a failed file rolls back with its marks). The loader calls it so in each file's
    transaction, which keeps the file's coverage sentence right; without `sha256` the whole group
    is recomputed (a one-source reload). Only rows whose mark changes are written: in a split long
    table (pipelines/ingest/long_tables.py), in its rows part (one row per source row)."""
    tables = group_tables(con, spec)
    if not tables:  # nothing of the group loaded (its only file was refused)
        return
    relations = {s.table: row_relation(con, s.table) for s in tables}
    grain = [c for c in spec.grain if c != "target_source"]
    keys = ", ".join(f'"{c}"' for c in grain)
    touched = ""
    if sha256 is not None:
        targets = {r[0] for r in con.execute(f"select distinct target_source from {relations[spec.table]} "
                                             "where file_sha256 = ?", [sha256]).fetchall()
                   } if spec.target_column else {spec.table}
        # a table of its own target competes only for that target (the older main table for any)
        tables = [s for s in tables if s.target_column or s.table in targets]
        if not _other_releases(con, tables, targets, sha256, relations):
            return  # the file's release is the only one of its targets: every row current, as inserted
        con.execute(f"create or replace temp table release_touched as select distinct {_target(spec)} as target, "
                    f"{keys} from {relations[spec.table]} where file_sha256 = ?", [sha256]).fetchall()
        match = " and ".join(f'k."{c}" is not distinct from r."{c}"' for c in grain)
        touched = f" as r where exists (select 1 from release_touched as k where k.target = r.target and {match})"
    union = " union all ".join(
        f"select {_target(s)} as target, {keys}, coalesce(release_order, '') as release_order from {relations[s.table]}"
        for s in tables)
    con.execute(f"create or replace temp table release_winners as select target, {keys}, "
                f"max(release_order) as newest from (select * from ({union}){touched}) group by all").fetchall()
    for s in tables:
        match = " and ".join(f'w."{c}" is not distinct from t."{c}"' for c in grain)
        mark = "coalesce(t.release_order, '') < w.newest"
        con.execute(f"""update {relations[s.table]} as t set is_superseded = {mark}
            from release_winners as w where w.target = {_target(s).replace('"target_source"', 't.target_source')}
            and {match} and t.is_superseded is distinct from ({mark})""").fetchall()
    con.execute("drop table release_winners").fetchall()
    if sha256 is not None:
        con.execute("drop table release_touched").fetchall()


def _other_releases(con: duckdb.DuckDBPyConnection, tables: list[SourceSpec], targets: set[str],
                    sha256: str, relations: dict[str, str]) -> bool:
    """Whether any file but `sha256` has rows for `targets` in `tables`."""
    listed = ", ".join("'" + t.replace("'", "''") + "'" for t in sorted(targets)) or "null"
    for s in tables:
        only = f"and target_source in ({listed})" if s.target_column else ""
        if con.execute(f"select count(*) from (select 1 from {relations[s.table]} where file_sha256 is distinct from ? "
                       f"{only} limit 1)", [sha256]).fetchall()[0][0]:
            return True
    return False


# --- what a newer release no longer carries ------------------------------------------------------------

@dataclass
class Coverage:
    """How a just-loaded release relates to the releases already in its table."""

    older_wins: list[str]  # periods where an already-loaded release is newer than this one
    geographies_kept: list[str]  # geographies older releases carry for periods this one covers, this one lacks
    periods_kept: list[str]  # periods older releases carry that this one does not

    def sentence(self, release: str | None) -> str:
        parts = []
        if self.older_wins:
            parts.append(f"a newer release already loaded covers {_span(self.older_wins)}, so this release's "
                         "values there are kept as superseded and the marts keep the newer ones")
        if self.geographies_kept:
            shown = ", ".join(self.geographies_kept[:GEO_LABEL_LIMIT])
            more = len(self.geographies_kept) - GEO_LABEL_LIMIT
            parts.append(f"this release does not carry {len(self.geographies_kept)} "
                         f"{'geography' if len(self.geographies_kept) == 1 else 'geographies'} an older release "
                         f"had ({shown}{f' and {more} more' if more > 0 else ''}); their older values are kept")
        if self.periods_kept:
            parts.append(f"older releases' values for {_span(self.periods_kept)} (not in this release) are kept")
        return ("warning: " + "; ".join(parts) + ".") if parts else ""


def _span(periods: list[str]) -> str:
    periods = sorted(periods)
    return periods[0] if len(periods) == 1 else f"{len(periods)} periods ({periods[0]} to {periods[-1]})"


def coverage(con: duckdb.DuckDBPyConnection, spec: SourceSpec, sha256: str) -> Coverage:
    """Compare the release just written (rows with `sha256`) with the other releases of its table."""
    table = row_relation(con, spec.table)  # every column read here is a source row's
    period = f'"{spec.period_column}"' if spec.period_column else None
    older_wins = [str(r[0]) for r in con.execute(
        f"select distinct {period or 'null'} from {table} where file_sha256 = ? and is_superseded order by 1",
        [sha256]).fetchall()]
    older_wins = ["the whole file"] if older_wins == ["None"] else older_wins
    others = con.execute(f"select count(*) from (select 1 from {table} where file_sha256 <> ? limit 1)",
                         [sha256]).fetchall()[0][0]
    if not spec.geo_columns or not others:  # the table's first file has nothing to compare with
        return Coverage(older_wins, [], [])
    same = [*spec.geo_columns, *([spec.period_column] if spec.period_column else [])]
    if spec.target_column:
        same.append("target_source")
    match = " and ".join(f'o."{c}" is not distinct from n."{c}"' for c in same)
    covered = f"and o.{period} in (select {period} from new)" if period else ""
    missing_geo = con.execute(f"""
        with new as (select * from {table} where file_sha256 = ?)
        select distinct trim({spec.geo_label}) from {table} as o
        where o.file_sha256 <> ? and not coalesce(o.is_superseded, false) {covered}
          and not exists (select 1 from new as n where {match})
        order by 1""", [sha256, sha256]).fetchall()
    missing_periods = []
    if period and spec.warn_missing_periods:
        missing_periods = [str(r[0]) for r in con.execute(f"""
            select distinct {period} from {table}
            where file_sha256 <> ? and not coalesce(is_superseded, false) and {period} is not null
              and {period} not in (select {period} from {table} where file_sha256 = ? and {period} is not null)
            order by 1""", [sha256, sha256]).fetchall()]
    return Coverage(older_wins, [r[0] for r in missing_geo], missing_periods)
