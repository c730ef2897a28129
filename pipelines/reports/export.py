"""JSNA exports: tidy KPI values for chosen KPIs, geographies and years, from the published warehouse.

One row per geography, KPI and period, with the value and its status, the
numerator and denominator where published, and the source and release the figure comes from.
Values are the preferred source's (fct_kpi_values.is_preferred): the same figures the scorecard and
the benchmarks use. Small-number suppression (counts 1-5 and rates built on them become
`suppressed`) is applied unless the caller states both that small numbers are wanted and that they
have the right to the local data.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import connect_warehouse
from pipelines.reports.publication import suppress_for_publication, suppression_threshold
from pipelines.reports.scorecard import check_marts, resolve_la
from pipelines.suppression import escape_formulas

GEOGRAPHIES = ("la", "region", "england")
FORMATS = ("csv", "xlsx", "parquet")

# The export's columns and types: what every format is written with and read back as.
EXPORT_SCHEMA: dict[str, pl.DataType] = {
    "geography_level": pl.String(),
    "geography_code": pl.String(),
    "old_la_code": pl.String(),
    "geography_name": pl.String(),
    "kpi_id": pl.String(),
    "kpi_title": pl.String(),
    "unit": pl.String(),
    "period_key": pl.String(),
    "period_label": pl.String(),
    "period_type": pl.String(),
    "period_end": pl.Date(),
    "value": pl.Float64(),
    "value_status": pl.String(),
    "numerator": pl.Float64(),
    "denominator": pl.Float64(),
    "source": pl.String(),
    "release": pl.String(),
}


def parse_years(text: str | None) -> list[int] | None:
    """'2019-2024' -> [2019, ..., 2024]; '2019,2021' -> [2019, 2021]; None or '' -> None (all years).

    A period counts in the year it ends: academic year 2023/24 and FY 2023-24 are 2024, January 2025 is 2025.
    """
    if text is None or not text.strip():
        return None
    years: set[int] = set()
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        match = re.fullmatch(r"(\d{4})(?:\s*(?:-|\.\.|to)\s*(\d{4}))?", part)
        if not match:
            raise SendScorecardError(
                f"--years '{text}' is not understood: use a range such as 2019-2024 or a list such as 2019,2020.")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first:
            raise SendScorecardError(f"--years {part} runs backwards: write {last}-{first}.")
        years.update(range(first, last + 1))
    return sorted(years)


def _resolve_kpis(con, kpis: Iterable[str]) -> list[str] | None:
    wanted = [k.strip() for k in kpis if k and k.strip()]
    if not wanted:
        return None
    known = {k.lower(): k for (k,) in con.execute("select kpi_id from marts.dim_kpi").fetchall()}
    unknown = [k for k in wanted if k.lower() not in known]
    if unknown:
        raise SendScorecardError(
            f"Unknown KPI id(s): {', '.join(unknown)}; the catalogue has {', '.join(sorted(known.values()))}.")
    return list(dict.fromkeys(known[k.lower()] for k in wanted))


def export_kpis(warehouse: Path, kpis: Sequence[str] = (), las: Sequence[str] = (),
                geographies: Sequence[str] = GEOGRAPHIES, years: str | Sequence[int] | None = None,
                include_small_numbers: bool = False, include_provisional: bool = False) -> pl.DataFrame:
    """The tidy export as a frame (columns EXPORT_SCHEMA), read from the warehouse opened read-only.

    kpis: KPI ids (empty: every KPI). las: LA codes, 3-digit numbers or names (empty: every LA);
    with LAs given, the region rows are those LAs' regions. geographies: any of la, region, england.
    years: '2019-2024', '2019,2020' or a list of years (None: all); a period counts in the year it ends.
    include_small_numbers: False applies small-number suppression (the caller checks the rights).
    include_provisional: also the LA's own monthly figures from local extracts (provisional, unpublished).
    """
    levels = [g.lower() for g in geographies] or list(GEOGRAPHIES)
    bad = [g for g in levels if g not in GEOGRAPHIES]
    if bad:
        raise SendScorecardError(f"Unknown geography {', '.join(bad)}: use la, region or england.")
    year_list = parse_years(years) if isinstance(years, str) or years is None else sorted(set(years))
    warehouse = Path(warehouse)
    con = connect_warehouse(warehouse, read_only=True)
    try:
        check_marts(con, warehouse)
        kpi_list = _resolve_kpis(con, kpis)
        authorities = [resolve_la(con, la) for la in las]
        la_codes = [a.la_code for a in authorities] or None
        region_codes = sorted({a.region_code for a in authorities if a.region_code}) or None
        frame = con.sql("""
            with regions as (
                select region_code, any_value(region_name) as region_name
                from marts.dim_la where region_code is not null group by region_code
            )
            select
                v.geo_level as geography_level,
                v.geo_code as geography_code,
                la.old_la_code,
                case v.geo_level
                    when 'england' then 'England'
                    when 'region' then coalesce(regions.region_name, v.geo_code)
                    else coalesce(la.la_name, v.geo_code)
                end as geography_name,
                v.kpi_id,
                k.title as kpi_title,
                k.unit,
                v.period_key,
                p.period_label,
                p.period_type,
                p.period_end,
                v.value,
                v.value_status,
                v.numerator,
                v.denominator,
                v.source,
                coalesce(v.release, v.source_label) as release
            from marts.fct_kpi_values as v
            inner join marts.dim_kpi as k on k.kpi_id = v.kpi_id
            left join marts.dim_period as p on p.period_key = v.period_key
            left join marts.dim_la as la on v.geo_level = 'la' and la.la_code = v.geo_code
            left join regions on v.geo_level = 'region' and regions.region_code = v.geo_code
            where v.is_preferred
                and (? or not v.is_provisional)
                and list_contains(?::varchar[], v.geo_level)
                and (?::varchar[] is null or list_contains(?::varchar[], v.kpi_id))
                and (?::integer[] is null or list_contains(?::integer[], year(p.period_end)))
                and (v.geo_level <> 'la' or ?::varchar[] is null or list_contains(?::varchar[], v.geo_code))
                and (v.geo_level <> 'region' or ?::varchar[] is null or list_contains(?::varchar[], v.geo_code))
            order by k.display_order, v.kpi_id,
                case v.geo_level when 'la' then 0 when 'region' then 1 else 2 end,
                geography_name, p.period_end, v.period_key
            """, params=[include_provisional, levels, kpi_list, kpi_list, year_list, year_list, la_codes, la_codes,
                         region_codes, region_codes]).pl()
    finally:
        con.close()
    frame = frame.cast(EXPORT_SCHEMA)  # type: ignore[arg-type]
    if not include_small_numbers:
        frame = suppress_for_publication(frame, suppression_threshold())
    return frame.select(list(EXPORT_SCHEMA))


def write_export(frame: pl.DataFrame, output: Path, fmt: str | None = None, *, notes: list[str] | None = None) -> Path:
    """Write the export as csv, xlsx or parquet (default: from the file's extension)."""
    output = Path(output)
    fmt = (fmt or output.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise SendScorecardError(f"Cannot tell the format of {output.name}: give --format csv, xlsx or parquet.")
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        escape_formulas(frame).write_csv(output)
    elif fmt == "parquet":
        frame.write_parquet(output)
    else:
        _write_xlsx(frame, output, notes or [])
    return output


def _write_xlsx(frame: pl.DataFrame, output: Path, notes: list[str]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from pipelines.reports.workbook import save_reproducibly

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    columns = list(frame.columns)
    for c, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=c, value=name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", start_color="0B0C0C", end_color="0B0C0C")
        ws.column_dimensions[get_column_letter(c)].width = max(10, min(48, len(name) + 4))
    ws.column_dimensions[get_column_letter(columns.index("kpi_title") + 1)].width = 48
    ws.column_dimensions[get_column_letter(columns.index("geography_name") + 1)].width = 26
    value_columns = {columns.index(c) + 1 for c in ("value",)}
    count_columns = {columns.index(c) + 1 for c in ("numerator", "denominator")}
    date_columns = {columns.index("period_end") + 1}
    for r, row in enumerate(frame.iter_rows(), start=2):
        record = dict(zip(columns, row, strict=True))
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if c in value_columns:
                # full precision, as in the warehouse: an export is for analysis, not display
                cell.number_format = "#,##0" if record["unit"] == "count" else "General"
            elif c in count_columns:
                cell.number_format = "#,##0"
            elif c in date_columns:
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(frame.height + 1, 2)}"
    about = wb.create_sheet("About")
    about.column_dimensions["A"].width = 120
    for r, line in enumerate(notes, start=1):
        about.cell(row=r, column=1, value=line)
    at = dt.datetime(2000, 1, 1)
    wb.properties.creator = "send-scorecard"
    wb.properties.created = wb.properties.modified = at
    save_reproducibly(wb, output, at)


def read_export(path: Path) -> pl.DataFrame:
    """Read an export written by write_export back into the same columns and types."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt == "csv":
        frame = pl.read_csv(path, schema=EXPORT_SCHEMA)
    elif fmt == "parquet":
        frame = pl.read_parquet(path)
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = list(wb["Data"].iter_rows(values_only=True))
        wb.close()
        header, body = list(rows[0]), rows[1:]
        data = {name: [row[i] for row in body] for i, name in enumerate(header)}
        data["period_end"] = [v.date() if isinstance(v, dt.datetime) else v for v in data["period_end"]]
        frame = pl.DataFrame(data, schema=EXPORT_SCHEMA, strict=False)
    else:
        raise SendScorecardError(f"{path.name} is not a csv, xlsx or parquet export.")
    return frame.cast(EXPORT_SCHEMA)  # type: ignore[arg-type]
