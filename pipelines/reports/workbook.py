"""The scorecard as an Excel workbook: Summary, one sheet per KPI family (S, E, P, L) and Data.

Figures are stored as numbers with the KPI's number format (a percentage is stored as 7.8 and shown
as 7.8%, as in the DfE's files and the warehouse); only symbols such as `c` are text. RAG cells are
filled and carry the rating in words. The file is reproducible: the same warehouse gives the same
bytes (document properties and zip entry times are the data's as-of time, not the clock).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from pipelines.reports.formatting import FAMILY_TITLES, kpi_number_format
from pipelines.reports.publication import SUPPRESSED_SYMBOL
from pipelines.suppression import escape_workbook

# Fill colour and font colour per RAG rating: the same colours as the HTML page.
RAG_STYLES = {
    "Green": ("00703C", "FFFFFF"),
    "Amber": ("FFBF47", "0B0C0C"),
    "Red": ("B3261E", "FFFFFF"),
    "Not rated": ("E8E8E8", "0B0C0C"),
    "Context": ("E8E8E8", "0B0C0C"),
    "No data": ("FFFFFF", "505A5F"),
}
HEADER_FILL = PatternFill("solid", start_color="0B0C0C", end_color="0B0C0C")
HEADER_FONT = Font(bold=True, color="FFFFFF")
THIN = Side(style="thin", color="B1B4B6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
NO_BORDER = Border()
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
RIGHT_TOP = Alignment(horizontal="right", vertical="top")
RAG_FILLS = {status: PatternFill("solid", start_color=fill, end_color=fill) for status, (fill, _) in RAG_STYLES.items()}
RAG_FONTS = {status: Font(bold=True, color=font) for status, (_, font) in RAG_STYLES.items()}

# (header, width, key): key names a field of a display row; a callable computes the cell
FAMILY_COLUMNS = (
    ("ID", 9), ("Measure", 46), ("Headline", 11), ("Polarity", 11), ("Period", 13), ("Value", 11),
    ("Previous period", 13), ("Previous value", 11), ("Direction of travel", 16), ("Target", 10),
    ("Target tolerance", 10), ("SN average", 11), ("SNs reported", 9), ("SNs in group", 9), ("Region", 11),
    ("England", 11), ("Rank", 8), ("LAs ranked", 8), ("Quartile", 9), ("RAG", 12), ("RAG reason", 70),
    ("Source", 34), ("Release", 30), ("Flags", 40), ("Priority", 10), ("Theme", 22), ("Owner", 18),
    ("Commentary", 60),
)
DATA_COLUMNS = (
    ("kpi_id", 9), ("title", 46), ("period_key", 11), ("period_label", 13), ("value", 11), ("value_status", 13),
    ("numerator", 11), ("denominator", 11), ("source", 18), ("release", 30), ("previous_period_key", 11),
    ("previous_value", 11), ("change_from_previous", 11), ("sn_vintage", 9), ("sn_group_size", 9),
    ("sn_count_reported", 9), ("sn_average", 11), ("sn_pooled_rate", 11), ("region_code", 12),
    ("region_value", 12), ("england_value", 12), ("national_rank", 9), ("n_ranked", 9), ("quartile_band", 9),
)
# Data-sheet columns that carry the KPI's own unit (the others are counts, ranks or text)
VALUE_LIKE = {"value", "previous_value", "change_from_previous", "sn_average", "sn_pooled_rate", "region_value",
              "england_value"}
COUNT_LIKE = {"numerator", "denominator", "sn_group_size", "sn_count_reported", "national_rank", "n_ranked"}


def rag_fill(status: str) -> PatternFill:
    return RAG_FILLS.get(status, RAG_FILLS["No data"])


def rag_font(status: str) -> Font:
    return RAG_FONTS.get(status, RAG_FONTS["No data"])


def _styled(cell, *, number_format: str | None = None, alignment: Alignment | None = None,
            border: Border | None = None, fill: PatternFill | None = None, font: Font | None = None):
    """Style a cell with the given style objects (module constants: they are told apart by identity).

    openpyxl hashes each style object again on every assignment, which took most of a workbook's
    time; the first cell of each combination is styled as usual and the others copy its style ids,
    so the workbook registers the same styles in the same order."""
    cache = cell.parent.parent.__dict__.setdefault("_send_styles", {})
    # a date or time value has set its own number format already: part of the combination
    key = (number_format or (cell._style.numFmtId if cell._style else 0), id(alignment), id(border), id(fill), id(font))
    style = cache.get(key)
    if style is not None:
        cell._style = copy(style)
        return cell
    if number_format is not None:
        cell.number_format = number_format
    for name, value in (("alignment", alignment), ("border", border), ("fill", fill), ("font", font)):
        if value is not None:
            setattr(cell, name, value)
    cache[key] = copy(cell._style)
    return cell


def _header(ws: Worksheet, columns: tuple[tuple[str, int], ...], row: int = 1) -> None:
    for i, (name, width) in enumerate(columns, start=1):
        _styled(ws.cell(row=row, column=i, value=name), fill=HEADER_FILL, font=HEADER_FONT, alignment=WRAP,
                border=BORDER)
        ws.column_dimensions[get_column_letter(i)].width = width


def _number(ws: Worksheet, row: int, column: int, value, number_format: str, suppressed: bool = False,
            border: Border = BORDER):
    """A figure as a number with its format; `c` (text) where suppressed; empty where there is none."""
    if suppressed and value is not None:
        return _styled(ws.cell(row=row, column=column, value=SUPPRESSED_SYMBOL), alignment=RIGHT_TOP, border=border)
    return _styled(ws.cell(row=row, column=column, value=value), number_format=number_format, alignment=TOP,
                   border=border)


def _text(ws: Worksheet, row: int, column: int, value, wrap: bool = False, border: Border = BORDER,
          fill: PatternFill | None = None, font: Font | None = None):
    cell = ws.cell(row=row, column=column, value=value if value not in ("",) else None)
    if isinstance(cell.value, str):
        cell.data_type = "s"  # text as typed (a commentary beginning with = is not a formula)
    return _styled(cell, alignment=WRAP if wrap else TOP, border=border, fill=fill, font=font)


def _table(ws: Worksheet, name: str, n_columns: int, n_rows: int) -> None:
    """Make the header and rows a real Excel Table (filter buttons, a name Power Query and
    PivotTables find); an empty sheet gets a table of one blank row."""
    table = Table(displayName=name, ref=f"A1:{get_column_letter(n_columns)}{max(n_rows, 1) + 1}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(table)


def _page_setup(ws: Worksheet, title: str) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.center.text = title.replace("&", "&&")
    ws.oddFooter.right.text = "Page &P of &N"


def _family_sheet(ws: Worksheet, report, family: str) -> None:
    _header(ws, FAMILY_COLUMNS)
    rows = [r for r in report.rows if r["family"] == family]
    for r_index, row in enumerate(rows, start=2):
        fmt = kpi_number_format(row["unit"], row["decimal_places"])
        suppressed = row["is_suppressed"]
        previous_hidden = row["previous_text"] == SUPPRESSED_SYMBOL
        values = [
            ("text", row["kpi_id"]), ("wrap", row["title"]),
            ("text", "Yes" if row["is_headline"] else f"Shown beside {row['parent_kpi_id']}"),
            ("text", row["polarity"]), ("text", row["period_label"]),
        ]
        for c_index, (kind, value) in enumerate(values, start=1):
            _text(ws, r_index, c_index, value, wrap=kind == "wrap")
        value_cell = 6
        if row["value"] is None and row["period_key"]:
            _text(ws, r_index, value_cell, row["value_text"])  # a status symbol in words, never a fake number
        else:
            _number(ws, r_index, value_cell, row["value"], fmt, suppressed)
        _text(ws, r_index, 7, row["previous_period_label"])
        _number(ws, r_index, 8, row["previous_value"], fmt, suppressed or previous_hidden)
        _text(ws, r_index, 9, row["direction_text"] if row["period_key"] else None)
        _number(ws, r_index, 10, row["target"], fmt)
        _number(ws, r_index, 11, row["target_tolerance"] if row["target"] is not None else None,
                kpi_number_format("count" if row["unit"] == "count" else "score", row["decimal_places"]))
        _number(ws, r_index, 12, row["sn_average"], fmt)
        _number(ws, r_index, 13, row["sn_count_reported"], "0")
        _number(ws, r_index, 14, row["sn_group_size"], "0")
        _number(ws, r_index, 15, row["region_value"], fmt)
        _number(ws, r_index, 16, row["england_value"], fmt)
        _number(ws, r_index, 17, row["national_rank"], "0", suppressed)
        _number(ws, r_index, 18, row["n_ranked"], "0")
        _text(ws, r_index, 19, row["quartile_text"])
        _text(ws, r_index, 20, row["rag_status"], fill=rag_fill(row["rag_status"]), font=rag_font(row["rag_status"]))
        _text(ws, r_index, 21, row["rag_reason_words"], wrap=True)
        _text(ws, r_index, 22, row["source_title"], wrap=True)
        _text(ws, r_index, 23, row["release"], wrap=True)
        _text(ws, r_index, 24, "; ".join(row["flags"] + ([f"Target {row['target_set_text']}"]
                                                          if row.get("target_set_text") else [])) or None, wrap=True)
        settings = row.get("settings")
        if settings:
            _text(ws, r_index, 25, settings.priority)
            _text(ws, r_index, 26, settings.theme, wrap=True)
            _text(ws, r_index, 27, settings.owner, wrap=True)
        comment = row.get("commentary")
        if comment:
            _text(ws, r_index, 28, " ".join(p for p in (
                comment["text"], f"({comment['byline']})" if comment["byline"] else None, comment["changed"]) if p),
                  wrap=True)
    ws.freeze_panes = "C2"
    _table(ws, f"Scorecard_{family}", len(FAMILY_COLUMNS), len(rows))
    _page_setup(ws, f"{family}: {FAMILY_TITLES.get(family, family)} - {report.la.la_name} SEND scorecard")
    ws.print_title_rows = "1:1"


def _data_sheet(ws: Worksheet, report) -> None:
    _header(ws, DATA_COLUMNS)
    frame = report.data
    for r_index, row in enumerate(frame.iter_rows(named=True), start=2):
        fmt = kpi_number_format(row["unit"], row["decimal_places"])
        for c_index, (name, _) in enumerate(DATA_COLUMNS, start=1):
            value = row.get(name)
            if name in VALUE_LIKE:
                _number(ws, r_index, c_index, value, fmt, border=NO_BORDER)
            elif name in COUNT_LIKE:
                _number(ws, r_index, c_index, value, "#,##0", border=NO_BORDER)
            else:
                _text(ws, r_index, c_index, value, border=NO_BORDER)
    ws.freeze_panes = "C2"
    _table(ws, "Data", len(DATA_COLUMNS), frame.height)
    _page_setup(ws, f"Data - {report.la.la_name} SEND scorecard")


def _summary_sheet(ws: Worksheet, report) -> None:
    s = report.summary
    la = report.la
    ws["A1"] = f"SEND scorecard: {la.la_name} ({la.la_code})"
    ws["A1"].font = Font(bold=True, size=16)
    ws["A2"] = f"Figures published up to {report.reporting_date:%d %B %Y}" + (
        f"; data as of {report.as_of:%d %B %Y %H:%M}" if report.pipeline_run else "")
    if report.publication:
        ws["A3"] = (f"Publication version: counts from 1 to {report.threshold}, and rates built on them, "
                    f"are shown as {SUPPRESSED_SYMBOL}.")
        ws["A3"].font = Font(bold=True)
    ws["A5"] = report.targets_note
    ws["A4"] = s["summary_sentence"]
    ws["A4"].font = Font(bold=True, size=12)
    ws["A4"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A4:F4")
    ws.row_dimensions[4].height = 48

    row = 6
    counts = (("Rating", 16), ("Measures", 11), ("Improving", 11), ("Declining", 11))
    _header(ws, counts, row=row)
    for status, n, up, down in (
        ("Green", s["n_green"], s["n_green_improving"], s["n_green_declining"]),
        ("Amber", s["n_amber"], None, None),
        ("Red", s["n_red"], s["n_red_improving"], s["n_red_declining"]),
        ("Not rated", s["n_not_rated"], None, None),
        ("Context", s["n_context"], None, None),
        ("No data", s["n_to_be_defined"], None, None),
    ):
        row += 1
        _text(ws, row, 1, status if status != "No data" else "No data (to be defined)", fill=rag_fill(status),
              font=rag_font(status))
        _number(ws, row, 2, n, "0")
        _number(ws, row, 3, up, "0")
        _number(ws, row, 4, down, "0")
    row += 1
    _text(ws, row, 1, "With data").font = Font(bold=True)
    _number(ws, row, 2, s["n_with_data"], "0")

    row += 2
    ws.cell(row=row, column=1, value="Measures to be further defined, or where data will be supplied soon").font = \
        Font(bold=True, size=12)
    row += 1
    _header(ws, (("ID", 16), ("Measure", 11), ("Family", 11), ("Why there is no figure", 11)), row=row)
    for item in report.to_be_defined:
        row += 1
        _text(ws, row, 1, item["kpi_id"])
        _text(ws, row, 2, item["title"])
        _text(ws, row, 3, f"{item['family']}: {item['family_title']}")
        _text(ws, row, 4, item["rag_reason_words"])

    row += 2
    ws.cell(row=row, column=1, value="Data sources").font = Font(bold=True, size=12)
    row += 1
    _header(ws, (("Publication", 16), ("Release", 11), ("Files", 11), ("Loaded", 11)), row=row)
    for source in report.sources:
        row += 1
        _text(ws, row, 1, source["title"])
        _text(ws, row, 2, source["release"])
        _text(ws, row, 3, source["files"])
        cell = _text(ws, row, 4, source["loaded_at"])
        cell.number_format = "dd mmm yyyy hh:mm"
    row += 2
    ws.cell(row=row, column=1, value="Pipeline run: " + (
        report.pipeline_run["text"] if report.pipeline_run else "not recorded in this warehouse."))
    row += 1
    ws.cell(row=row, column=1, value=(
        "Percentages are stored as numbers of percentage points (7.8 means 7.8%). Sheets S, E, P and L hold "
        "every catalogue measure of that family; the Data sheet every period's value and benchmarks."))
    for column, width in zip("ABCDEF", (44, 60, 60, 60, 12, 12), strict=True):
        ws.column_dimensions[column].width = width
    _page_setup(ws, f"Summary - {la.la_name} SEND scorecard")


def build_workbook(report) -> Workbook:
    """The workbook for one ScorecardReport (not yet saved)."""
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    _summary_sheet(summary, report)
    for family in FAMILY_TITLES:
        _family_sheet(wb.create_sheet(family), report, family)
    _data_sheet(wb.create_sheet("Data"), report)
    props = wb.properties
    props.title = f"SEND scorecard: {report.la.la_name} ({report.la.la_code})"
    props.subject = f"Figures published up to {report.reporting_date.isoformat()}"
    props.creator = "send-scorecard"
    props.lastModifiedBy = "send-scorecard"
    props.created = report.as_of
    props.modified = report.as_of
    return wb


def save_reproducibly(wb: Workbook, path: Path, at: dt.datetime) -> None:
    """Save with fixed document times and zip entry times, so unchanged data gives identical bytes.

    openpyxl's save_workbook stamps 'modified' with the clock, so the writer is driven directly.
    Every XLSX the project writes is saved here, after escape_workbook (no cell can be a live formula).
    """
    escape_workbook(wb)
    buffer = io.BytesIO()  # stored, not compressed: each entry is compressed once, below
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    stamp = (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second)
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info.filename))


def write_workbook(report, path: Path) -> Path:
    """Write the scorecard workbook to `path`."""
    wb = build_workbook(report)
    wb.properties.modified = report.as_of
    save_reproducibly(wb, Path(path), report.as_of)
    return Path(path)

