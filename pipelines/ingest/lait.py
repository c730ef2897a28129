"""Readers for the DfE Local Authority Interactive Tool (LAIT): the long data set, its data
dictionary and its LA list."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.ees import read_xlsx_text
from pipelines.ingest.la_reference import old_to_new_codes, regions
from pipelines.ingest.rawfile import RawFile, read_csv_text
from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.ingest.values import split_value_column, text_as_categories

log = logging.getLogger(__name__)

ENGLAND_NUMBER = 970
LAIT_COLUMNS = {
    "short desc": "measure_short",
    "data item": "data_item",
    "years": "years",
    "la and regions": "la_and_regions",
    "values": "value_raw",
    "la number": "la_number",
    "region": "lait_region",
}


def read_lait_indicators(source: RawFile | Path, la_reference: pl.DataFrame | None = None) -> pl.DataFrame:
    """Read LAIT's long data set (parquet or CSV) into raw.lait_indicators.

    LA rows get their `new_la_code` through `la_reference` (LAIT has only the 3-digit number);
    England (970) and the regions (980-990) become their own geography levels.
    """
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = SOURCES_BY_TABLE["lait_indicators"]
    text = ("measure_short", "data_item", "years", "la_and_regions", "value_raw", "lait_region")
    if raw.base_name.lower().endswith(".parquet"):
        try:
            scan = pl.scan_parquet(io.BytesIO(raw.content))
            spec.check_header(raw.name, scan.collect_schema().names())
            # streamed a row group at a time, the text straight into categories (641k rows repeat a few
            # hundred measures and LAs): a third of the memory of reading the whole file first
            frame = scan.rename(_lait_names).with_row_index("source_row", offset=1).with_columns(
                pl.col("source_row").cast(pl.Int64), *(pl.col(c).cast(pl.String).cast(pl.Categorical) for c in text)
            ).collect(engine="streaming").rechunk()
        except SourceFormatError:
            raise
        except Exception as exc:
            raise SourceFormatError(raw.name, f"could not be read as Parquet ({exc})") from exc
    else:
        frame = read_csv_text(raw)
        spec.check_header(raw.name, [c for c in frame.columns if c != "source_row"])
        frame = text_as_categories(frame.rename(_lait_names), text)
    number = pl.col("la_number").cast(pl.Float64, strict=False)
    bad = frame.filter(number.is_null() | (number != number.round(0)))
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceFormatError(raw.name, f"LA number '{row['la_number']}' is not a whole number",
                                row=row["source_row"], column="LA Number")
    frame = frame.with_columns(number.cast(pl.Int64).alias("la_number"))
    frame = split_value_column(frame, "value_raw", file=raw.name)
    return _add_geography(frame, la_reference, raw.name)


def _lait_names(column: str) -> str:
    return LAIT_COLUMNS.get(column.strip().lower(), column)


def _add_geography(frame: pl.DataFrame, la_reference: pl.DataFrame | None, file: str) -> pl.DataFrame:
    region_table = regions()
    lait_regions = dict(zip(region_table["lait_number"].to_list(), region_table["region_code"].to_list(),
                            strict=True))
    by_region_name = {
        name: code for name, code in zip(region_table["lait_name"].to_list(), region_table["region_code"].to_list(),
                                         strict=True) if code
    }
    by_region_name.update({"Inner London": "E12000007", "Outer London": "E12000007",
                           "Yorkshire and The Humber": "E12000003"})
    level = (
        pl.when(pl.col("la_number") == ENGLAND_NUMBER).then(pl.lit("National"))
        .when(pl.col("la_number").is_in([987, 988])).then(pl.lit("Sub-regional"))
        .when(pl.col("la_number").is_in(list(lait_regions))).then(pl.lit("Regional"))
        .otherwise(pl.lit("Local authority"))
    )
    codes = old_to_new_codes(la_reference) if la_reference is not None else {}
    # worked out once per LA number and region name (a few hundred pairs), then joined onto the rows
    places = frame.select("la_number", "lait_region").unique().with_columns(level.alias("geographic_level"))
    is_la = pl.col("geographic_level") == "Local authority"
    places = places.with_columns(
        pl.when(is_la).then(pl.col("la_number").replace_strict(codes, default=None, return_dtype=pl.String))
        .alias("new_la_code"),
        pl.when(pl.col("geographic_level") == "Regional")
        .then(pl.col("la_number").replace_strict(lait_regions, default=None, return_dtype=pl.String))
        .when(is_la).then(pl.col("lait_region").cast(pl.String).replace_strict(by_region_name, default=None,
                                                                                 return_dtype=pl.String))
        .alias("region_code"),
    )
    frame = frame.join(text_as_categories(places), on=["la_number", "lait_region"], how="left", nulls_equal=True,
                       maintain_order="left")
    unmapped = places.filter(is_la & pl.col("new_la_code").is_null())["la_number"].unique().sort().to_list()
    if unmapped:
        log.warning("%s: LA number(s) %s are not in the LA reference; their rows have no new_la_code",
                    file, ", ".join(map(str, unmapped)))
    return frame.select(
        "measure_short", "data_item", "years", "la_and_regions", "la_number", "lait_region", "geographic_level",
        "new_la_code", "region_code", "value_raw", "value", "value_status", "source_row",
    )


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def read_lait_dictionary(source: RawFile | Path) -> pl.DataFrame:
    """Read LAIT's indicator dictionary (multi-line quoted fields) into raw.lait_data_dictionary."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    frame = pl.read_csv(io.BytesIO(raw.content), infer_schema=False, encoding="utf8-lossy")
    SOURCES_BY_TABLE["lait_data_dictionary"].check_header(raw.name, frame.columns)
    renames = {c: _snake(c) for c in frame.columns}
    renames.update({c: "data_owner" for c in frame.columns if c.lower().startswith("data owner")})
    renames.update({c: "hyperlinks" for c in frame.columns if c.lower().startswith("hyperlink")})
    # Rows hold multi-line text, so the file line is not known: record the record number instead.
    return frame.rename(renames).with_row_index("source_row", offset=2).with_columns(
        pl.col("source_row").cast(pl.Int64)
    )


def read_lait_la_list(source: RawFile | Path) -> pl.DataFrame:
    """Read LAIT's LA list workbook (LA Number, LA Name, Region, Type) into raw.lait_la_list."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    frame = read_xlsx_text(raw)
    SOURCES_BY_TABLE["lait_la_list"].check_header(raw.name, frame.columns)
    frame = frame.rename({c: _snake(c) for c in frame.columns}).rename({"region": "lait_region", "type": "la_type"})
    return frame.with_columns(pl.col("la_number").cast(pl.Int64, strict=False)).drop_nulls("la_number")
