"""Readers for Explore Education Statistics (EES) tidy data: CSV, CSV.gz, release zips, xlsx.

An EES file has geography columns, filter columns and indicator columns. The reader returns it
long: one row per input row and indicator, the indicator's cell split into value + status.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipelines.config import REFERENCE_DIR
from pipelines.errors import SourceFormatError
from pipelines.ingest.rawfile import RawFile, read_csv_text
from pipelines.ingest.sources import EES_DROPPED_COLUMNS, EES_GEOGRAPHY_COLUMNS, SourceSpec, detect_source
from pipelines.ingest.values import split_value_column, text_as_categories

# Applied to a file's wide rows (canonical column names, geography columns present) before they go long:
# the loader sets aside the rows it cannot key to an LA there (pipelines/ingest/row_keys.py), on a frame a
# measure-count times smaller than the long one.
RowFilter = Callable[[pl.DataFrame], pl.DataFrame]


def read_ees_csv(source: RawFile | Path, spec: SourceSpec | None = None, keep_rows: RowFilter | None = None,
                 ) -> pl.DataFrame:
    """Read an EES tidy CSV (or .csv.gz, or one member of a release zip) into the long raw layout."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = spec or detect_source(raw.base_name, raw.name)
    return ees_to_long(read_csv_text(raw), spec, raw.name, keep_rows)


def read_ees_xlsx(source: RawFile | Path, spec: SourceSpec | None = None, keep_rows: RowFilter | None = None,
                  ) -> pl.DataFrame:
    """Read EES data published as an Excel workbook (first sheet, header on row 1)."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = spec or detect_source(raw.base_name, raw.name)
    frame = read_xlsx_text(raw)
    return ees_to_long(frame, spec, raw.name, keep_rows)


def read_xlsx_text(raw: RawFile, sheet_id: int = 1, header_row: int = 1) -> pl.DataFrame:
    """An all-text frame of one sheet with `source_row` = the sheet's row number."""
    try:
        frame = pl.read_excel(io.BytesIO(raw.content), sheet_id=sheet_id, has_header=False, infer_schema_length=0,
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


def ees_to_long(frame: pl.DataFrame, spec: SourceSpec, file: str, keep_rows: RowFilter | None = None,
                ) -> pl.DataFrame:
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
    if keep_rows is not None:
        frame = keep_rows(frame)
    # categories before the frame goes long: the long frame repeats each cell of the index per indicator
    long = text_as_categories(frame).unpivot(index=index, on=indicators, variable_name="measure",
                                             value_name="value_raw")
    long = split_value_column(long.with_columns(pl.col("measure").cast(pl.Categorical)), "value_raw", file=file,
                              column_name_column="measure")
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


# --- the main table of earlier EHC plans releases ----------------------------------------------------------

LAYOUTS_FILE = REFERENCE_DIR / "ehcp_main_table_layouts.csv"
UNMAPPED = "unmapped"


def main_table_layouts() -> pl.DataFrame:
    """The alias table (data, not code): for each known layout of the older EHC plans main table, which
    column means which measure of which current table. A new spelling is a new row."""
    frame = pl.read_csv(LAYOUTS_FILE, infer_schema=False)
    return frame.with_columns(pl.col("column").str.strip_chars().str.to_lowercase(), pl.col("required") == "true")


def match_layout(file: str, columns: list[str], layouts: pl.DataFrame) -> str:
    """The layout whose required columns the file has; else an error naming the file's columns and
    the layout it came closest to."""
    present = {c.strip().lower() for c in columns}
    scored = []
    for (layout,), rows in layouts.group_by("layout", maintain_order=True):
        required = set(rows.filter(pl.col("required"))["column"].to_list())
        if required <= present:
            return layout
        known = set(rows["column"].to_list())
        scored.append((len(known & present), layout, sorted(required - present)))
    hits, nearest, missing = max(scored)
    raise SourceFormatError(
        file,
        "matches none of the known layouts of the EHC plans main table. Its columns are: "
        + ", ".join(c for c in columns if c != "source_row")
        + f". The nearest layout is the {nearest} ({hits} of its columns present), which also needs "
        + ", ".join(f"'{c}'" for c in missing)
        + f". If this is a new spelling, add its columns to {LAYOUTS_FILE.name}.",
    )


def read_ehcp_main_table(source: RawFile | Path, spec: SourceSpec | None = None,
                         keep_rows: RowFilter | None = None) -> pl.DataFrame:
    """Read the main table of an earlier EHC plans release (sen2_mi.csv, SEN2_MI.csv) into the long raw
    layout, each column mapped by the alias table onto the measure of today's release it means
    (`target_source`, `measure`, breakdown); columns no layout maps stay, as target `unmapped`."""
    raw = source if isinstance(source, RawFile) else RawFile.from_path(source)
    spec = spec or detect_source(raw.base_name, raw.name)
    frame = read_csv_text(raw)
    spec.check_header(raw.name, [c for c in frame.columns if c != "source_row"])
    layouts = main_table_layouts()
    layout = match_layout(raw.name, [c for c in frame.columns if c != "source_row"], layouts)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns if c != "source_row"})
    frame = frame.drop([c for c in EES_DROPPED_COLUMNS if c in frame.columns]).with_columns(
        [pl.lit(None, pl.String).alias(c) for c in EES_GEOGRAPHY_COLUMNS if c not in frame.columns])
    index = ["source_row", *EES_GEOGRAPHY_COLUMNS]
    if keep_rows is not None:
        frame = keep_rows(frame)
    long = text_as_categories(frame, index).unpivot(index=index, on=[c for c in frame.columns if c not in index],
                                                    variable_name="source_column", value_name="value_raw")
    # "NULL" is how the 2019 edition marks items that did not exist yet (statements after 2014)
    long = long.with_columns(pl.when(pl.col("value_raw").str.strip_chars() == "NULL").then(pl.lit("x"))
                             .otherwise(pl.col("value_raw")).alias("value_cell"))
    long = split_value_column(long, "value_cell", file=raw.name, column_name_column="source_column")
    mapping = layouts.filter(pl.col("layout") == layout).select(
        pl.col("column").alias("source_column"), "target_source", "measure", "breakdown_topic", "breakdown")
    long = long.join(mapping, on="source_column", how="left").with_columns(
        pl.col("target_source").fill_null(UNMAPPED),
        pl.coalesce("measure", "source_column").alias("measure"),
        pl.lit(layout).alias("layout"),
    )
    return text_as_categories(long.select(
        *EES_GEOGRAPHY_COLUMNS, "breakdown_topic", "breakdown", "target_source", "measure", "source_column", "layout",
        "value_raw", "value", "value_status", "source_row"))
