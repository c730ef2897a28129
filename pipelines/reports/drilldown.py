"""The drill-down page: one section per KPI of an LA's scorecard.

Each section shows the LA against the quartile bands of all LAs over time (the middle half shaded,
the median dashed), each statistical neighbour's figure and national rank for the latest period,
and the source rows the figure came from: every source's value for the LA and period, its
release, the file(s) it was loaded from and whether it is the figure used. It is written beside
the scorecard as `drilldown-<la>-<date>.html`, and the scorecard's measures link to it.
"""

from __future__ import annotations

import duckdb

from pipelines.reports.charts import band_chart_svg
from pipelines.reports.formatting import format_value, source_title


def _dicts(con: duckdb.DuckDBPyConnection, query: str, params: list) -> list[dict]:
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchall()[0][0])


def drilldown_sections(con: duckdb.DuckDBPyConnection, report) -> list[dict]:
    """The sections of the drill-down page for `report` (a ScorecardReport), from the open warehouse."""
    la_code = report.la.la_code
    sections = []
    neighbours_held = _exists(con, "intermediate", "int_sn_neighbours_in_force")
    files_held = _exists(con, "meta", "file_loads")
    suppressed = {r["kpi_id"] for r in report.rows if r.get("is_suppressed")}
    for row in report.rated_rows:
        unit, dp = row["unit"], int(row["decimal_places"] or 0)
        history = _dicts(con, """
            select p.period_label, b.value, b.quartile_cut_25, b.quartile_cut_50, b.quartile_cut_75
            from marts.fct_kpi_benchmarks as b
            inner join marts.dim_period as p on p.period_key = b.period_key
            where b.la_code = ? and b.kpi_id = ? and p.period_end <= ? and p.period_type = ?
            order by p.period_end""", [la_code, row["kpi_id"], report.reporting_date, row["period_type"]])
        hidden = report.publication
        chart = band_chart_svg(
            f"bands-{row['kpi_id']}", f"{row['kpi_id']} {row['title']}", [h["period_label"] for h in history],
            [None if hidden else h["value"] for h in history],
            [(h["quartile_cut_25"], h["quartile_cut_50"], h["quartile_cut_75"])
             if h["quartile_cut_50"] is not None else None for h in history],
            unit, dp, report.la.la_name) if history else None
        neighbours = []
        if neighbours_held and row["period_key"] and row["is_benchmarked"]:
            neighbours = _dicts(con, """
                select n.neighbour_rank, l.la_name, b.value, b.national_rank, b.n_ranked, b.quartile_band
                from intermediate.int_sn_neighbours_in_force as n
                inner join marts.dim_la as l on l.la_code = n.neighbour_la_code
                left join marts.fct_kpi_benchmarks as b
                    on b.la_code = n.neighbour_la_code and b.kpi_id = ? and b.period_key = n.period_key
                where n.la_code = ? and n.period_key = ?
                order by n.neighbour_rank""", [row["kpi_id"], la_code, row["period_key"]])
            for n in neighbours:
                n["value_text"] = format_value(n["value"], unit, dp) or "no figure"
        sources = []
        if row["period_key"] and not report.publication:
            sources = _dicts(con, """
                select v.source, v.release, v.value, v.value_status, v.numerator, v.denominator, v.is_preferred
                from marts.fct_kpi_values as v
                where v.geo_level = 'la' and v.geo_code = ? and v.kpi_id = ? and v.period_key = ?
                order by v.is_preferred desc, v.source""", [la_code, row["kpi_id"], row["period_key"]])
            for s in sources:
                s["title"] = source_title(s["source"])
                s["value_text"] = format_value(s["value"], unit, dp) or s["value_status"]
                s["files"] = ""
                if files_held:
                    files = con.execute("""select string_agg(distinct source_file, '; ' order by source_file)
                        from meta.file_loads where source = ? and coalesce(release, '') = coalesce(?, '')
                        and status = 'loaded'""", [s["source"], s["release"]]).fetchall()
                    s["files"] = files[0][0] or ""
        sections.append({"row": row, "chart": chart, "neighbours": neighbours, "sources": sources,
                         "suppressed": row["kpi_id"] in suppressed})
    return sections
