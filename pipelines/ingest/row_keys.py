"""Rows that cannot be keyed are refused row by row (design.md section 7, issue 10 item 7).

An LA row of an EES file is keyed by its `new_la_code`. A row with no code, a code the LA reference
does not know, or the code of an LA that did not exist in the row's period (checked against the
reference's dates of operation; an LA whose code changed while its LA number stayed is one LA)
cannot be keyed. When such rows are at most a per-source share of the file's rows
(SourceSpec.max_refused_share, default 1%) they are left out and recorded in `quarantine.rows`
with their file row; more than that refuses the whole file. Messages count file rows (not the
long rows the reader makes of them) and name the first row and its code.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.sources import SourceSpec

CHECK = "la_row_has_a_known_la_code"
ROW_COLUMNS = ("time_period", "geographic_level", "region_code", "new_la_code", "old_la_code", "la_name")


@dataclass
class RefusedRows:
    rows: pl.DataFrame  # one row per refused file row: source_row, reason, the geography columns

    @property
    def count(self) -> int:
        return self.rows.height

    def sentence(self, file: str, total: int) -> str:
        first = self.rows.row(0, named=True)
        more = f" and {self.count - 1} more" if self.count > 1 else ""
        return (f"{self.count} of {total:,} file row(s) could not be keyed to an LA and were set aside in "
                f"quarantine.rows (file row {first['source_row']}{more}: {first['reason']})")


def _period_bounds(time_period: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The widest dates a period can mean: 2024 -> 2024; 202324 -> April 2023 to August 2024."""
    year = time_period.str.slice(0, 4).cast(pl.Int32, strict=False)
    six = time_period.str.len_chars() == 6
    start = pl.when(six).then(pl.date(year, 4, 1)).otherwise(pl.date(year, 1, 1))
    end = pl.when(six).then(pl.date(year + 1, 8, 31)).otherwise(pl.date(year, 12, 31))
    return start, end


def unkeyable_rows(frame: pl.DataFrame, la_reference: pl.DataFrame | None) -> pl.DataFrame:
    """The file rows (by source_row) whose LA cannot be keyed, with the reason in words."""
    if not {"geographic_level", "new_la_code", "source_row"} <= set(frame.columns):
        return pl.DataFrame(schema={"source_row": pl.Int64, "reason": pl.String})
    rows = frame.filter(pl.col("geographic_level") == "Local authority").select(
        "source_row", *[c for c in ROW_COLUMNS if c in frame.columns]).unique("source_row")
    code = pl.col("new_la_code").str.strip_chars()
    missing = rows.filter(code.is_null() | (code == "")).with_columns(
        pl.format("LA row '{}' has no LA code", pl.col("la_name").fill_null("")).alias("reason"))
    if la_reference is None or not la_reference.height:
        return missing.select("source_row", "reason", *[c for c in ROW_COLUMNS if c in rows.columns])
    reference = la_reference.filter(~pl.col("is_combined").fill_null(False)) if "is_combined" in la_reference.columns \
        else la_reference
    reference = reference.select(
        pl.col("new_la_code"), pl.col("old_la_code").cast(pl.String),
        pl.col("date_of_operation").cast(pl.Date, strict=False), pl.col("date_of_termination").cast(pl.Date, strict=False))
    # The GSS codes began in 2009: an LA whose code dates from then existed before it (files use the
    # codes for earlier years too), so only later dates of operation bound a period from below.
    baseline = reference["date_of_operation"].min()
    if baseline is not None:
        reference = reference.with_columns(
            pl.when(pl.col("date_of_operation") <= pl.lit(baseline + dt.timedelta(days=366)))
            .then(None).otherwise(pl.col("date_of_operation")).alias("date_of_operation"))
    known = set(reference["new_la_code"].drop_nulls().to_list())
    coded = rows.filter(code.is_not_null() & (code != ""))
    unknown = coded.filter(~code.is_in(list(known))).with_columns(
        pl.format("LA code '{}' is not in the LA reference", code).alias("reason"))
    # in operation: the code itself, or another code of the same LA number, operated during the period
    start, end = _period_bounds(pl.col("time_period").cast(pl.String))
    candidates = coded.filter(code.is_in(list(known))).with_columns(start.alias("p_start"), end.alias("p_end"))
    numbered = reference.filter(pl.col("old_la_code").str.contains(r"^\d+$"))
    spans = numbered.select("new_la_code", "old_la_code").join(
        numbered.drop("new_la_code"), on="old_la_code", how="inner").select(
        "new_la_code", "date_of_operation", "date_of_termination")
    spans = pl.concat([spans, reference.select("new_la_code", "date_of_operation", "date_of_termination")])
    operating = candidates.with_columns(code.alias("code_key")).join(
        spans, left_on="code_key", right_on="new_la_code", how="inner").filter(
        (pl.col("date_of_operation").is_null() | (pl.col("date_of_operation") <= pl.col("p_end")))
        & (pl.col("date_of_termination").is_null() | (pl.col("date_of_termination") >= pl.col("p_start")))
    )["source_row"].unique()
    dated = candidates.filter(pl.col("p_start").is_not_null() & ~pl.col("source_row").is_in(operating)).with_columns(
        pl.format("LA code '{}' belongs to an LA that did not exist in {}", code, pl.col("time_period"))
        .alias("reason")).drop("p_start", "p_end")
    columns = ["source_row", "reason", *[c for c in ROW_COLUMNS if c in rows.columns]]
    return pl.concat([missing.select(columns), unknown.select(columns), dated.select(columns)],
                     how="vertical_relaxed").sort("source_row")


def refuse_unkeyable_rows(con: duckdb.DuckDBPyConnection, spec: SourceSpec, frame: pl.DataFrame, file: str,
                          sha256: str, la_reference: pl.DataFrame | None) -> tuple[pl.DataFrame, RefusedRows | None]:
    """The frame without its un-keyable rows (recorded in quarantine.rows); raises when they are too many."""
    bad = unkeyable_rows(frame, la_reference)
    if not bad.height:
        return frame, None
    refused = RefusedRows(bad)
    total = frame["source_row"].n_unique()
    if bad.height > spec.max_refused_share * total:
        first = bad.row(0, named=True)
        raise SourceFormatError(
            file, f"{bad.height} of {total:,} file rows cannot be keyed to an LA, more than the "
            f"{spec.max_refused_share:.0%} a file may have set aside; the first is {first['reason']}",
            row=first["source_row"], column="new_la_code")
    _quarantine(con, spec, file, sha256, bad)
    return frame.filter(~pl.col("source_row").is_in(bad["source_row"].implode())), refused


def _quarantine(con: duckdb.DuckDBPyConnection, spec: SourceSpec, file: str, sha256: str, bad: pl.DataFrame) -> None:
    from pipelines.quality.gates import ensure_dq_tables

    ensure_dq_tables(con)
    at = dt.datetime.now()
    run_id = uuid.uuid4().hex
    for row in bad.to_dicts():
        con.execute("insert into quarantine.rows values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            run_id, spec.table, file, sha256, row["source_row"], CHECK, "row refused at ingest", row["reason"],
            json.dumps({k: v for k, v in row.items() if k != "reason"}, default=str), at])
