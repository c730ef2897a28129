"""How the DfE publications spell their numbers, and how to write their files byte-for-byte reproducibly.

Published files are text first: a percentage is `46.4`, not `46.40`; LAIT writes some numbers with all 17
significant digits (`9.8000000000000007`, `7.0000000000000007E-2`); EES files start with a UTF-8 BOM and end
lines with CRLF. Workbooks and zips carry timestamps, so every archive is rewritten with a fixed date.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import polars as pl
from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

BOM = "\ufeff"
# Timestamp written into every archive member and workbook property: generated files depend on the seed only.
FIXED_TIMESTAMP = dt.datetime(2025, 7, 1, 9, 30, 0)


def plain_number(value: float | int, dps: int | None = None) -> str:
    """A number as DfE prints it: rounded to `dps` places, no trailing zeros, never `-0`."""
    if dps is None:
        text = repr(float(value)) if isinstance(value, float) else str(value)
    else:
        text = f"{value:.{dps}f}"
    if "." in text and "e" not in text.lower():
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(numerator: float, denominator: float, dps: int = 1) -> float | None:
    """100 * numerator / denominator rounded as published, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return round(100 * numerator / denominator, dps)


def long_form(value: float) -> str | None:
    """LAIT's 17-significant-digit spelling of a value (scientific below 0.1), or None when it adds nothing."""
    short = plain_number(value)
    if float(short) == value and f"{value:.17G}" == short:
        return None
    if value != 0 and abs(value) < 0.1:
        mantissa, exponent = f"{value:.16E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E{int(exponent)}"
    return f"{value:.17G}"


def lait_text(value: float | None, dps: int, rng: np.random.Generator, long_share: float = 0.18) -> str:
    """A LAIT `Values` cell: `-` when missing, otherwise the rounded value, sometimes in its 17-digit form."""
    if value is None:
        return "-"
    rounded = round(value, dps)
    if dps == 0:
        return str(int(rounded))
    if rng.random() < long_share:
        spelled = long_form(rounded)
        if spelled is not None:
            return spelled
    return plain_number(rounded, dps)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    bom: bool,
    line_end: str,
) -> Path:
    """Write a CSV the way the publisher does: optional BOM, chosen line ending, quotes only where needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(header, rows, bom=bom, line_end=line_end))
    return path


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool, line_end: str) -> bytes:
    """The bytes of a UTF-8 CSV with the given header and rows (None is an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return ((BOM if bom else "") + buffer.getvalue()).encode("utf-8")


def table_csv_bytes(
    header: Sequence[str], columns: Sequence[Sequence[object]], *, bom: bool, line_end: str
) -> bytes:
    """The bytes of a UTF-8 CSV given column by column (text or None), written by polars for speed."""
    frame = pl.DataFrame(
        {name: pl.Series(name, column, dtype=pl.String) for name, column in zip(header, columns, strict=True)}
    )
    buffer = io.BytesIO()
    frame.write_csv(buffer, include_bom=bom, line_terminator=line_end)
    return buffer.getvalue()


def counts_text(values: np.ndarray) -> list[str]:
    """Whole numbers as text."""
    return np.asarray(values, dtype=np.int64).astype(str).tolist()


def percents_text(numerators: np.ndarray, denominators: np.ndarray) -> list[str | None]:
    """100 * n / d rounded to 1 dp exactly as Python's round() does, `.0` dropped; None where d is 0."""
    numerators = np.asarray(numerators, dtype=np.float64)
    denominators = np.asarray(denominators, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 100 * numerators / denominators
    rounded = np.round(values, 1)
    # np.round scales by 10 first, which can tip a value just below a half the other way: redo those in Python.
    tenths = values * 10
    for i in np.flatnonzero(np.abs(tenths - np.floor(tenths) - 0.5) < 1e-6):
        rounded[i] = round(float(values[i]), 1)
    texts = pl.Series(rounded + 0.0).cast(pl.String).str.replace(r"\.0$", "").to_list()
    return [None if base == 0 else text for text, base in zip(texts, denominators.tolist(), strict=True)]


def write_gzipped_csv(path: Path, frames: Iterable[pl.DataFrame], line_end: str) -> Path:
    """Frames written one after another as one gzipped CSV (header once), with a zero modification time
    and no file name in the gzip header, as the EES API mock's files are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as out,
    ):
        for number, frame in enumerate(frames):
            out.write(frame.write_csv(include_header=number == 0, line_terminator=line_end).encode("utf-8"))
    return path


def write_zip(path: Path, members: Sequence[tuple[str, bytes]]) -> Path:
    """A deflated zip whose members all carry the fixed timestamp, in the given order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    path.write_bytes(buffer.getvalue())
    return path


XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def write_table_workbook(
    path: Path, sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[object]], creator: str
) -> Path:
    """A one-sheet workbook holding a plain table (numbers as numbers, text as shared strings, None empty).

    Written directly as SpreadsheetML: openpyxl needs seconds for a few thousand rows of a wide table.
    """
    strings: dict[str, int] = {}
    letters = [_column_letter(i) for i in range(1, len(header) + 1)]
    sheet_rows = []
    for number, values in enumerate([header, *rows], start=1):
        cells = []
        for letter, value in zip(letters, values, strict=True):
            if value is None:
                continue
            if isinstance(value, str):
                cells.append(
                    f'<c r="{letter}{number}" t="s"><v>{strings.setdefault(value, len(strings))}</v></c>'
                )
            else:
                cells.append(
                    f'<c r="{letter}{number}"><v>{value if isinstance(value, int) else repr(float(value))}</v></c>'
                )
        sheet_rows.append(f'<row r="{number}">{"".join(cells)}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{letters[-1]}{len(sheet_rows)}"/><sheetData>{"".join(sheet_rows)}</sheetData></worksheet>'
    )
    shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = {
        **XLSX_PARTS,
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>{escape(creator)}</dc:creator><cp:lastModifiedBy>{escape(creator)}</cp:lastModifiedBy>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
        "xl/sharedStrings.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'
        ),
    }
    return write_zip(path, [(name, content.encode("utf-8")) for name, content in parts.items()])


def save_workbook(workbook: Workbook, path: Path, creator: str) -> Path:
    """Save a workbook with fixed document properties and member timestamps (same seed, same bytes)."""
    workbook.properties.creator = creator
    workbook.properties.lastModifiedBy = creator
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    with zipfile.ZipFile(buffer) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    return write_zip(path, members)
