"""Reader for the DfE children's services statistical neighbour groups (xlsx, one per vintage)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.ees import read_xlsx_text
from pipelines.ingest.la_reference import old_to_new_codes
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE

MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], start=1)}
NEIGHBOURS = 10


def vintage_from_name(file: str) -> tuple[str, dt.date]:
    """`sn_may_2025.xlsx` -> ("2025", 2025-05-01): the grouping's vintage and publication month."""
    match = re.search(r"(?:([a-z]+)[_ -])?((?:19|20)\d\d)", Path(file).stem.lower())
    if not match:
        raise SourceFormatError(file, "the file name must carry the grouping's year, e.g. sn_may_2025.xlsx")
    month = MONTHS.get((match.group(1) or "")[:9], 1)
    return match.group(2), dt.date(int(match.group(2)), month, 1)


def _closeness(label: pl.Expr) -> pl.Expr:
    """'Very Close' / 'very close' -> 'Very close'."""
    text = label.str.strip_chars().str.to_lowercase()
    return pl.when(text.is_in(["", "-"]) | text.is_null()).then(None).otherwise(
        text.str.slice(0, 1).str.to_uppercase() + text.str.slice(1)
    )


def read_statistical_neighbours(source: RawFile | Path, la_reference: pl.DataFrame | None = None) -> pl.DataFrame:
    """Read an SN workbook into a tidy table: LA, vintage, neighbour rank 1-10, neighbour, closeness.

    The sheet has two title rows then the header (LA num, LA Name, ..., SN1, SNP, ..., SN10, SNP);
    LAs without neighbours (`-`) get no rows.
    """
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    vintage, valid_from = vintage_from_name(raw.base_name)
    sheet = read_xlsx_text(raw, header_row=1)
    header_at = next((i for i, row in enumerate(sheet.head(10).iter_rows()) if "LA num" in row), None)
    if header_at is None:
        raise SourceFormatError(raw.name, "no header row with 'LA num' in the first 10 rows")
    frame = read_xlsx_text(raw, header_row=header_at + 2)
    columns = list(frame.columns)
    SOURCES_BY_TABLE["statistical_neighbours"].check_header(raw.name, columns)
    parts = []
    for rank in range(1, NEIGHBOURS + 1):
        at = columns.index(f"SN{rank}")
        parts.append(frame.select(
            pl.col("source_row"),
            pl.col("LA num").alias("la_number"),
            pl.col("LA Name").alias("la_name"),
            pl.lit(rank, pl.Int64).alias("neighbour_rank"),
            pl.col(columns[at]).alias("neighbour"),
            _closeness(pl.col(columns[at + 1])).alias("closeness"),
        ))
    tidy = pl.concat(parts).with_columns(
        pl.col("la_number").cast(pl.Int64, strict=False),
        pl.col("neighbour").str.strip_chars(),
    ).filter(pl.col("la_number").is_not_null() & ~pl.col("neighbour").is_in(["", "-"]) & pl.col("neighbour").is_not_null())
    number = pl.col("neighbour").cast(pl.Int64, strict=False)
    bad = tidy.filter(number.is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceFormatError(raw.name, f"neighbour '{row['neighbour']}' is not an LA number",
                                row=row["source_row"], column=f"SN{row['neighbour_rank']}")
    codes = old_to_new_codes(la_reference) if la_reference is not None else {}
    code = pl.col("la_number").replace_strict(codes, default=None, return_dtype=pl.String)
    return tidy.with_columns(number.alias("neighbour_la_number")).with_columns(
        pl.lit(vintage).alias("vintage"),
        pl.lit(valid_from).alias("valid_from"),
        code.alias("new_la_code"),
        pl.col("neighbour_la_number").replace_strict(codes, default=None, return_dtype=pl.String)
        .alias("neighbour_new_la_code"),
    ).select("vintage", "valid_from", "la_number", "new_la_code", "la_name", "neighbour_rank",
             "neighbour_la_number", "neighbour_new_la_code", "closeness", "source_row").sort(
        "la_number", "neighbour_rank")
