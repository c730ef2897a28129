"""Reader for the LA reference: new and old codes, names, regions and dates of operation."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.config import REFERENCE_DIR
from pipelines.ingest.rawfile import RawFile, read_csv_text
from pipelines.ingest.sources import SOURCES_BY_TABLE


def regions() -> pl.DataFrame:
    """The English regions with their ONS codes and LAIT numbers (package reference file)."""
    return pl.read_csv(REFERENCE_DIR / "regions.csv", schema_overrides={"lait_number": pl.Int64})


def read_la_reference(source: RawFile | Path) -> pl.DataFrame:
    """Read the LA lookup (dfeR layout, dd/mm/yyyy dates) into the raw.la_reference layout.

    Rows that group two LAs for reporting (`E06000063 / E06000064`) are kept and flagged with
    `is_combined`, so lookups by code can leave them out.
    """
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    frame = read_csv_text(raw)
    SOURCES_BY_TABLE["la_reference"].check_header(raw.name, frame.columns)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    out = frame.with_columns(
        _parse_date("date_of_operation", raw.name),
        _parse_date("date_of_termination", raw.name),
        pl.col("parent_geography_code").alias("region_code"),
        pl.col("new_la_code").str.contains("/").alias("is_combined"),
    ).join(regions().select("region_code", "region_name").drop_nulls(), on="region_code", how="left")
    status = pl.when(pl.col("date_of_termination").is_null()).then(pl.lit("live")).otherwise(pl.lit("terminated"))
    return out.with_columns(pl.coalesce(pl.col("status"), status).alias("status")).select(
        "new_la_code", "old_la_code", "la_name", "date_of_operation", "date_of_termination", "region_code",
        "region_name", "entity_code", "entity_description", "status", "is_combined", "source_row",
    )


def _parse_date(column: str, file: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(
        text.str.strptime(pl.Date, "%d/%m/%Y", strict=False),
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
    ).alias(column)


def old_to_new_codes(la_reference: pl.DataFrame) -> dict[int, str]:
    """3-digit LA number -> current new_la_code (the live LA where a number was reused)."""
    ranked = (
        la_reference.filter(~pl.col("is_combined").fill_null(False))
        .with_columns(pl.col("old_la_code").cast(pl.Int64, strict=False).alias("number"))
        .drop_nulls("number")
        .sort(["number", pl.col("date_of_termination").is_null(), "date_of_operation"], nulls_last=False)
    )
    return dict(zip(ranked["number"].to_list(), ranked["new_la_code"].to_list(), strict=True))


def bundled_la_reference() -> pl.DataFrame | None:
    """The package's own list of English LAs, used when no LA reference has been loaded yet."""
    path = REFERENCE_DIR / "english_las.csv"
    if not path.exists():
        return None
    frame = pl.read_csv(path, infer_schema=False)
    return frame.with_columns(
        _parse_date("date_of_operation", path.name),
        _parse_date("date_of_termination", path.name),
        pl.lit(False).alias("is_combined"),
    )
