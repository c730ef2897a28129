"""Readers for Explore Education Statistics (EES) tidy data: CSV, CSV.gz, release zips, xlsx.

An EES file has geography columns, filter columns and indicator columns. The reader returns it
long: one row per input row and indicator, the indicator's cell split into value + status.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from pipelines.errors import SourceFormatError
from pipelines.ingest.rawfile import RawFile, read_csv_text
from pipelines.ingest.sources import EES_DROPPED_COLUMNS, EES_GEOGRAPHY_COLUMNS, SourceSpec, detect_source
from pipelines.ingest.values import split_value_column


def read_ees_csv(source: RawFile | Path, spec: SourceSpec | None = None) -> pl.DataFrame:
    """Read an EES tidy CSV (or .csv.gz, or one member of a release zip) into the long raw layout."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = spec or detect_source(raw.base_name, raw.name)
    return ees_to_long(read_csv_text(raw), spec, raw.name)


def read_ees_xlsx(source: RawFile | Path, spec: SourceSpec | None = None) -> pl.DataFrame:
    """Read EES data published as an Excel workbook (first sheet, header on row 1)."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = spec or detect_source(raw.base_name, raw.name)
    frame = read_xlsx_text(raw)
    return ees_to_long(frame, spec, raw.name)


def read_xlsx_text(raw: RawFile, sheet_id: int = 1, header_row: int = 1) -> pl.DataFrame:
    """An all-text frame of one sheet with `source_row` = the sheet's row number."""
    try:
        frame = pl.read_excel(io.BytesIO(raw.data), sheet_id=sheet_id, has_header=False, infer_schema_length=0,
                              drop_empty_rows=False)
    except Exception as exc:  # calamine raises its own types for damaged workbooks
        raise SourceFormatError(raw.name, f"could not be read as an Excel workbook ({exc})") from exc
    frame = frame.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    header = frame.row(header_row - 1)[1:]
    names: list[str] = []
    for i, cell in enumerate(header):
        name = str(cell).strip() if cell not in (None, "") else f"unnamed_{i}"
        names.append(name if name not in names else f"{name}__{i}")  # SN sheets repeat 'SNP'
    # Blank rows are kept while reading (so source_row is the sheet row) and dropped here.
    body = frame.slice(header_row).filter(~pl.all_horizontal(pl.exclude("source_row").is_null()))
    return body.rename(dict(zip(body.columns[1:], names, strict=True)))


def ees_to_long(frame: pl.DataFrame, spec: SourceSpec, file: str) -> pl.DataFrame:
    """Geography + filters kept; every other column becomes (measure, value_raw, value, status)."""
    spec.check_header(file, [c for c in frame.columns if c != "source_row"])
    frame = frame.rename({c: spec.canonical(c) for c in frame.columns if c != "source_row"})
    frame = frame.drop([c for c in EES_DROPPED_COLUMNS if c in frame.columns])
    frame = frame.with_columns(
        [pl.lit(None, pl.String).alias(c) for c in (*EES_GEOGRAPHY_COLUMNS, *spec.filters) if c not in frame.columns]
    )
    index = ["source_row", *EES_GEOGRAPHY_COLUMNS, *spec.filters]
    indicators = [c for c in frame.columns if c not in index]
    if not indicators:
        raise SourceFormatError(file, "has no indicator columns")
    long = frame.unpivot(index=index, on=indicators, variable_name="measure", value_name="value_raw")
    long = split_value_column(long, "value_raw", file=file, column_name_column="measure")
    return long.select(*EES_GEOGRAPHY_COLUMNS, *spec.filters, "measure", "value_raw", "value", "value_status",
                       "source_row")


def read_ees_metadata(source: RawFile | Path, spec: SourceSpec | None = None) -> pl.DataFrame:
    """Read an EES `.meta.csv` (indicator units and decimal places) with the dataset it describes."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    frame = read_csv_text(raw)
    if spec:
        spec.check_header(raw.name, frame.columns)
    dataset = raw.base_name.removesuffix(".meta.csv")
    return frame.rename({c: c.strip().lower() for c in frame.columns}).with_columns(
        pl.lit(dataset).alias("dataset")
    )
