"""The scorecard an LA's board reads: one self-contained HTML page and an Excel workbook.

Everything shown comes from the marts of the published warehouse, opened read-only:
fct_scorecard (one row per catalogue KPI), fct_scorecard_summary (the sentence a board reads
first), fct_kpi_benchmarks and dim_period (the trend charts), fct_kpi_values (the data sources)
and meta.refresh_runs / meta.file_loads (the pipeline run in the footer). Nothing is re-rated
here: RAG, reasons and direction of travel are the warehouse's.

Files are written to `<warehouse dir>/reports/`:
`scorecard-<la code>-<reporting date>.html|.xlsx`, and with publication=True
`...-publication.html|.xlsx`, where small counts and rates built on them are shown as `c`.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipelines import config
from pipelines.errors import SendScorecardError
from pipelines.ingest.loader import connect_warehouse
from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.reports.archive import reports_dir
from pipelines.reports.charts import TrendPoint, legend_svg, trend_svg
from pipelines.reports.formatting import (
    FAMILY_TITLES,
    POLARITY_WORDS,
    QUARTILE_WORDS,
    format_value,
    source_title,
    status_words,
)
from pipelines.reports.publication import (
    SUPPRESSED_SYMBOL,
    small_number_mask,
    suppress_for_publication,
    suppression_threshold,
)
from pipelines.reports.settings import month_label, read_settings, settings_for, settings_path

# A KPI whose latest published period ended more than this long before the reporting date is
# flagged as stale: the reader should know the figure is old, not that it is current.
STALE_AFTER = dt.timedelta(days=2 * 365)

MARTS = ("dim_la", "dim_kpi", "dim_period", "fct_kpi_values", "fct_kpi_benchmarks", "fct_scorecard",
         "fct_scorecard_summary")

RAG_ORDER = ("Green", "Amber", "Red", "Not rated", "Context", "No data")


@dataclass(frozen=True)
class LocalAuthority:
    la_code: str
    la_name: str
    old_la_code: str | None
    region_code: str | None
    region_name: str | None


@dataclass
class ScorecardReport:
    """Everything the HTML page and the workbook show for one LA and reporting period."""

    la: LocalAuthority
    reporting_period: str
    reporting_date: dt.date
    publication: bool
    threshold: int
    summary: dict
    rows: list[dict]
    sources: list[dict]
    pipeline_run: dict | None
    data: pl.DataFrame
    families: list[dict] = field(default_factory=list)
    targets_note: str = ""
    changes: dict | None = None  # what changed since the previous archived report (archive.changes_since)
    settings_note: str | None = None  # why the LA's settings file was not used, in a sentence
    drilldown: list[dict] | None = None  # the drill-down page's sections (pipelines.reports.drilldown)
    archived_on: dt.date | None = None  # set when regenerated from the monthly archive
    sn_groupings: str | None = None  # the SN groupings of the SN averages shown ("May 2025 groupings")

    @property
    def slug(self) -> str:
        """The file name stem: scorecard-E08000007-2025-12-31[-archived-2026-11-30][-publication]."""
        stem = f"scorecard-{self.la.la_code}-{self.reporting_date.isoformat()}"
        if self.archived_on:
            stem += f"-archived-{self.archived_on.isoformat()}"
        return stem + ("-publication" if self.publication else "")

    @property
    def drilldown_name(self) -> str | None:
        """The drill-down page beside the scorecard (none for the publication variant)."""
        return None if self.publication else self.slug.replace("scorecard-", "drilldown-", 1) + ".html"

    @property
    def n_changes(self) -> int:
        return sum(len(v) for k, v in (self.changes or {}).items() if k != "since")

    @property
    def rated_rows(self) -> list[dict]:
        return [r for r in self.rows if r["rag_status"] != "No data"]

    @property
    def to_be_defined(self) -> list[dict]:
        return [r for r in self.rows if r["rag_status"] == "No data"]

    @property
    def as_of(self) -> dt.datetime:
        """When the data was last loaded (the pipeline run); fixes the workbook's timestamps."""
        at = (self.pipeline_run or {}).get("at")
        if isinstance(at, dt.datetime):
            return at.replace(microsecond=0, tzinfo=None)
        return dt.datetime.combine(self.reporting_date, dt.time())


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pl.DataFrame:
    return con.sql(query, params=params or []).pl()


def check_marts(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    missing = [m for m in MARTS if m not in present]
    if missing:
        raise SendScorecardError(
            f"The warehouse {warehouse} has no {', '.join('marts.' + m for m in missing)} yet: "
            "run 'send-scorecard refresh' (or 'make demo') to build the models first.")


def resolve_la(con: duckdb.DuckDBPyConnection, text: str) -> LocalAuthority:
    """The LA named by a new code (E08000007), the 3-digit LAIT number (356) or its name in any case
    ('stockport'); a live LA wins over a terminated one of the same name. Raises a one-sentence
    SendScorecardError listing close matches when nothing matches."""
    wanted = " ".join(text.strip().split())
    frame = _frame(con, """
        select la_code, la_name, old_la_code, region_code, region_name, status
        from marts.dim_la order by case when status = 'live' then 0 else 1 end, la_code""")
    key = wanted.lower()
    for row in frame.iter_rows(named=True):
        old = str(row["old_la_code"] or "").lower()
        if key in (str(row["la_code"]).lower(), str(row["la_name"]).lower()) or (
                key.isdigit() and old and key.lstrip("0") == old.lstrip("0")):
            return LocalAuthority(row["la_code"], row["la_name"], row["old_la_code"], row["region_code"],
                                  row["region_name"])
    names = sorted(set(frame["la_name"].to_list()))
    close = difflib.get_close_matches(wanted.title(), names, n=3, cutoff=0.6)
    if not close:
        close = [n for n in names if key and key in n.lower()][:3]
    codes = dict(zip(frame["la_name"], frame["la_code"], strict=False))
    hint = (" Did you mean " + " or ".join(f"{n} ({codes[n]})" for n in close) + "?") if close else (
        " Use a code such as E08000007, a 3-digit LA number such as 356, or a name such as Stockport.")
    raise SendScorecardError(f"No local authority matches '{text}'.{hint}")


def resolve_period(con: duckdb.DuckDBPyConnection, la_code: str, period: str | None) -> tuple[str, dt.date]:
    """The reporting period of fct_scorecard to show: `period` matches a reporting_period ('latest'
    or an ISO date) or a reporting date; None means the latest one held for the LA."""
    frame = _frame(con, """
        select distinct reporting_period, reporting_date from marts.fct_scorecard where la_code = ?
        order by reporting_date desc""", [la_code])
    if frame.is_empty():
        raise SendScorecardError(
            f"The warehouse has no scorecard rows for {la_code}: it is not a live LA, or the models were "
            "built for another LA (dbt var scorecard_la).")
    if period is None:
        row = frame.row(0, named=True)
        return row["reporting_period"], row["reporting_date"]
    for row in frame.iter_rows(named=True):
        if period.strip().lower() in (str(row["reporting_period"]).lower(), row["reporting_date"].isoformat()):
            return row["reporting_period"], row["reporting_date"]
    held = ", ".join(f"{r['reporting_period']} ({r['reporting_date']})" for r in frame.iter_rows(named=True))
    raise SendScorecardError(f"The warehouse holds no scorecard for the period '{period}'; it holds: {held}.")


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()[0][0])


def _pipeline_run(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The latest published refresh (meta.refresh_runs), or else the latest file load."""
    if _table_exists(con, "meta", "refresh_runs"):
        rows = con.execute("""select run_id, started_at, seconds, loaded, skipped, quarantined
            from meta.refresh_runs order by started_at desc limit 1""").fetchall()
        if rows:
            run_id, started, seconds, loaded, skipped, quarantined = rows[0]
            return {"at": started, "text": (
                f"Refresh {run_id}, started {started:%d %B %Y %H:%M}, took {seconds:.0f} s: {loaded} file(s) "
                f"loaded, {skipped} unchanged, {quarantined} refused.")}
    if _table_exists(con, "meta", "file_loads"):
        rows = con.execute("""select max(loaded_at), count(*) filter (where status = 'loaded'),
            count(*) filter (where status <> 'loaded') from meta.file_loads""").fetchall()
        if rows and rows[0][0] is not None:
            at, loaded, other = rows[0]
            return {"at": at, "text": (
                f"Files last loaded {at:%d %B %Y %H:%M} ({loaded} file load(s) recorded"
                + (f", {other} not loaded" if other else "") + "; no refresh run is recorded).")}
    return None


def _sources(con: duckdb.DuckDBPyConnection, pairs: set[tuple[str, str]]) -> list[dict]:
    """The publications behind the figures shown: title, release, files and when they were loaded."""
    loads: dict[tuple[str, str], tuple[list[str], dt.datetime | None]] = {}
    if _table_exists(con, "meta", "file_loads"):
        for source, release, files, loaded_at in con.execute("""
                select source, release, string_agg(distinct source_file, '; ' order by source_file), max(loaded_at)
                from meta.file_loads where status = 'loaded' group by source, release""").fetchall():
            loads[(source, release)] = (files, loaded_at)
    out = []
    for source, release in sorted(pairs, key=lambda p: (source_title(p[0]), p[1] or "")):
        files, loaded_at = loads.get((source, release), ("", None))
        out.append({"source": source, "title": source_title(source), "release": release or "",
                    "files": files or "", "loaded_at": loaded_at})
    return out


def _display_row(row: dict, labels: dict[str, str], report_date: dt.date, threshold: int,
                 publication: bool = False) -> dict:
    """Add what a reader sees to one fct_scorecard row: formatted figures, direction of travel in
    words, flags; in the publication variant, small counts become `c`."""
    unit, dp = row["unit"], row["decimal_places"]
    fmt = lambda v: format_value(v, unit, dp)  # noqa: E731
    suppressed, previous_suppressed = row["is_suppressed"], row["previous_suppressed"]
    row = dict(row)
    row["family_title"] = FAMILY_TITLES.get(row["family"], row["family"])
    row["polarity_words"] = POLARITY_WORDS.get(row["polarity"], row["polarity"] or "")
    if row["value"] is None:
        row["value_text"] = status_words(row["value_status"]) if row["period_key"] else "no data"
    else:
        row["value_text"] = SUPPRESSED_SYMBOL if suppressed else fmt(row["value"])
    row["previous_period_label"] = labels.get(row["previous_period_key"] or "", row["previous_period_key"])
    row["previous_text"] = SUPPRESSED_SYMBOL if (suppressed or previous_suppressed) else fmt(row["previous_value"])
    direction = row["direction_of_travel"]
    if suppressed or previous_suppressed:
        direction = None
        row["direction_text"] = f"{SUPPRESSED_SYMBOL} (withheld)"
    elif direction is None:
        row["direction_text"] = "no comparable previous figure"
    else:
        row["direction_text"] = direction
    row["direction_class"] = {"improving": "improving", "declining": "declining"}.get(direction or "", "neutral")
    row["previous_line"] = (f"from {row['previous_text']} ({row['previous_period_label']})"
                            if direction and row["previous_text"] else None)
    if direction and row["previous_value"] is not None and row["value"] is not None:
        delta = row["value"] - row["previous_value"]
        row["arrow"] = "\u2192" if direction == "no change" or abs(delta) < 1e-12 else (
            "\u2191" if delta > 0 else "\u2193")
    else:
        row["arrow"] = ""
    row["target_text"] = fmt(row["target"])
    row["target_from_label"] = labels.get(row["target_from_period"] or "", row["target_from_period"])
    row["target_set_text"] = (f"set by {row['target_set_by']}" + (
        f" on {row['target_agreed_on']:%d %b %Y}" if row.get("target_agreed_on") else "")
        if row["target"] is not None and row.get("target_set_by") else None)
    row["target_agreed_text"] = (f"agreed {row['target_agreed_on']:%d %b %Y}"
                                 if row["target"] is not None and row.get("target_agreed_on") else None)
    row["sn_text"] = fmt(row["sn_average"])
    row["sn_reported_text"] = (f"{row['sn_count_reported']} of {row['sn_group_size'] or 10}"
                               if row["sn_count_reported"] is not None else None)
    row["region_text"] = fmt(row["region_value"])
    row["england_text"] = fmt(row["england_value"])
    hide_rank = suppressed
    row["rank_text"] = (SUPPRESSED_SYMBOL if hide_rank and row["national_rank"] is not None else
                        f"{row['national_rank']} of {row['n_ranked']}" if row["national_rank"] is not None else None)
    row["quartile_text"] = None if hide_rank else row["quartile_band"]
    row["quartile_words"] = QUARTILE_WORDS.get(row["quartile_band"] or "", "")
    reason = row["rag_reason"] or row["rag_status"]
    if suppressed:
        reason = (f"{row['rag_status']}: the figure rests on a count of {threshold} or fewer and is shown as "
                  f"{SUPPRESSED_SYMBOL} in this published version; the rating is the warehouse's")
    row["rag_reason"] = reason
    row["rag_reason_words"] = reason.split(": ", 1)[1] if ": " in reason else reason
    row["rag_label"] = row["rag_status"]
    row["rag_class"] = row["rag_status"].replace(" ", "").capitalize() if row["rag_status"] else ""
    row["source_title"] = source_title(row["source"])
    row["source_note"] = (f"Source: {row['source_title']}" + (f", release {row['release']}" if row["release"] else "")
                          if row["source"] else None)
    row.setdefault("settings_words", [])
    row.setdefault("commentary", None)
    flags = []
    if row["period_end"] is not None and report_date - row["period_end"] > STALE_AFTER:
        flags.append(f"Stale: the latest published figure is for {row['period_label']}")
    if row.get("is_stale") and row.get("quality_note"):  # a source's latest file was refused
        # the reason is for the owner (data-quality report, run summary); readers learn only this
        flags.append(f"Not updated this month: {row['source_title'] or 'the source'} keeps its last good data"
                     + ("." if publication else " (the data-quality report says why)."))
    if row["data_quality_flag"]:
        flags.append(row["data_quality_flag"])
    if row.get("provisional_value") is not None:
        trend = "" if row.get("provisional_trend_suppressed") else "; ".join(
            f"{direction} on {against}" for direction, against in (
                (row.get("provisional_direction_vs_previous"), "the month before"),
                (row.get("provisional_direction_vs_last_year"), "the same month last year"),
            ) if direction
        )
        trend = f" ({trend})" if trend else ""
        if row.get("provisional_source") == row["source"]:
            flags.append(f"Provisional: the LA's own monthly figure; nothing is published for this measure{trend}")
        else:
            shown = SUPPRESSED_SYMBOL if row.get("provisional_suppressed") else f"{row['provisional_value']:g}"
            # the casework figures have two possible local sources: say when it is the SEN2 return
            spec = SOURCES_BY_TABLE.get(row.get("provisional_source") or "")
            sen2 = " from the SEN2 return" if spec is not None and spec.family == "sen2_return" else ""
            flags.append(f"Local monthly figure {shown} for {row['provisional_period_label']}{sen2}"
                         f"{trend}: {row['latest_value_basis']}")
    if row["value"] is not None and row["value_status"] not in (None, "ok"):
        flags.append("Value status: " + status_words(row["value_status"]))
    if suppressed:
        flags.append(f"Suppressed ({SUPPRESSED_SYMBOL}): small numbers")
    row["flags"] = flags
    return row


def _trend_series(trends: pl.DataFrame, row: dict) -> pl.DataFrame:
    """The periods of the row's period type up to the reporting date, oldest first (trends are
    already suppressed in the publication variant)."""
    if not row["period_key"]:
        return trends.clear()
    return trends.filter((pl.col("kpi_id") == row["kpi_id"]) & (pl.col("period_type") == row["period_type"]))


@dataclass(frozen=True)
class DefinitionBreak:
    """A row of the definition_breaks seed: where a series changes meaning (design.md section 8)."""

    kpi_ids: frozenset[str]  # empty: the SN average line of every benchmarked KPI
    effective_from: dt.date
    effective_to: dt.date
    note: str


def _definition_breaks(con: duckdb.DuckDBPyConnection) -> list[DefinitionBreak]:
    if not _table_exists(con, "reference", "definition_breaks"):
        return []
    return [DefinitionBreak(frozenset((kpi_ids or "").split()), start, end, note) for kpi_ids, start, end, note in
            con.execute("""select kpi_ids, effective_from, effective_to, note from reference.definition_breaks
                order by effective_from, break_id""").fetchall()]


def breaks_crossed(series: pl.DataFrame, row: dict, breaks: list[DefinitionBreak]) -> list[str]:
    """The notes of the breaks the row's trend crosses: the line it applies to (the KPI's own lines,
    or the SN average for a break of the SN groupings) has a point that starts before the break's
    end and one that ends on or after its start."""
    notes = []
    for brk in breaks:
        if brk.kpi_ids:
            if row["kpi_id"] not in brk.kpi_ids:
                continue
            drawn = ["value", "sn_average", "england_value"] if row["is_benchmarked"] else ["value"]
        elif row["is_benchmarked"]:
            drawn = ["sn_average"]
        else:
            continue
        points = series.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in drawn))
        if (not points.is_empty() and points["period_start"].min() < brk.effective_to
                and points["period_end"].max() >= brk.effective_from):
            notes.append(brk.note)
    return notes


def _trend_points(series: pl.DataFrame, row: dict) -> list[TrendPoint]:
    points = []
    for p in series.iter_rows(named=True):
        la_value = p["value"]
        if row["is_benchmarked"]:
            points.append(TrendPoint(p["period_label"], la_value, p["sn_average"], p["england_value"]))
        else:  # a count is not compared with areas of other sizes: the LA's own line only
            points.append(TrendPoint(p["period_label"], la_value, None, None))
    return points


@dataclass
class _MartsRead:
    """What a scorecard reads from the marts for one LA and reporting period: the same for the working
    report and its publication variant, which differ only in what they suppress."""

    summary: dict
    scorecard: pl.DataFrame
    labels: dict[str, str]
    trends: pl.DataFrame
    data: pl.DataFrame
    provisional_counts: pl.DataFrame
    breaks: list[DefinitionBreak]
    pipeline_run: dict | None
    sn_groupings: str | None


def _read_marts(con: duckdb.DuckDBPyConnection, la: LocalAuthority, reporting_period: str,
                reporting_date: dt.date) -> _MartsRead:
    summary_frame = _frame(con, """select * from marts.fct_scorecard_summary
        where la_code = ? and reporting_period = ?""", [la.la_code, reporting_period])
    if summary_frame.is_empty():
        raise SendScorecardError(f"marts.fct_scorecard_summary has no row for {la.la_name} ({la.la_code}).")
    scorecard = _frame(con, """
        select s.*, b.sn_group_size, p.period_type, p.period_end,
            k.national_source, k.local_source, k.tags, k.is_benchmarked
        from marts.fct_scorecard as s
        left join marts.fct_kpi_benchmarks as b
            on b.la_code = s.la_code and b.kpi_id = s.kpi_id and b.period_key = s.period_key
        left join marts.dim_period as p on p.period_key = s.period_key
        left join marts.dim_kpi as k on k.kpi_id = s.kpi_id
        where s.la_code = ? and s.reporting_period = ?
        order by s.display_order, s.kpi_id""", [la.la_code, reporting_period])
    labels = dict(_frame(con, "select period_key, period_label from marts.dim_period").iter_rows())
    trends = _frame(con, """
        select b.kpi_id, k.unit, b.period_key, p.period_label, p.period_type, p.period_start, p.period_end, b.value,
            b.numerator,
            b.denominator, b.value_status, b.sn_average, b.region_value, b.england_value
        from marts.fct_kpi_benchmarks as b
        inner join marts.dim_period as p on p.period_key = b.period_key
        inner join marts.dim_kpi as k on k.kpi_id = b.kpi_id
        where b.la_code = ? and p.period_end <= ?
        order by b.kpi_id, p.period_end""", [la.la_code, reporting_date])
    data = _frame(con, """
        select b.kpi_id, k.title, k.unit, k.decimal_places, b.period_key, p.period_label, b.value,
            b.value_status, b.numerator, b.denominator, b.source, v.release, b.previous_period_key,
            b.previous_value, b.change_from_previous, b.sn_vintage, b.sn_group_size, b.sn_count_reported,
            b.sn_average, b.sn_pooled_rate, b.region_code, b.region_value, b.england_value, b.national_rank,
            b.n_ranked, b.quartile_band
        from marts.fct_kpi_benchmarks as b
        inner join marts.dim_kpi as k on k.kpi_id = b.kpi_id
        left join marts.dim_period as p on p.period_key = b.period_key
        left join marts.fct_kpi_values as v
            on v.geo_level = 'la' and v.geo_code = b.la_code and v.kpi_id = b.kpi_id
            and v.period_key = b.period_key and v.source = b.source and v.is_preferred
        where b.la_code = ? and p.period_end <= ?
        order by k.display_order, p.period_end""", [la.la_code, reporting_date])
    return _MartsRead(summary=summary_frame.row(0, named=True), scorecard=scorecard, labels=labels, trends=trends,
                      data=data, provisional_counts=_provisional_counts(con, la.la_code),
                      breaks=_definition_breaks(con), pipeline_run=_pipeline_run(con),
                      sn_groupings=_sn_groupings(con, la.la_code))


def load_report(con: duckdb.DuckDBPyConnection, la: LocalAuthority, reporting_period: str,
                reporting_date: dt.date, publication: bool = False, read: _MartsRead | None = None) -> ScorecardReport:
    """Read one LA's scorecard, summary, trends and sources from the marts (or from `read`, what an
    earlier call read for the same LA and period: the other variant is made without reading again)."""
    threshold = suppression_threshold()
    read = read or _read_marts(con, la, reporting_period, reporting_date)
    summary, scorecard, labels, trends, data = read.summary, read.scorecard, read.labels, read.trends, read.data
    if publication:
        scorecard = scorecard.join(read.provisional_counts, on=["kpi_id", "provisional_period_key",
                                                                 "provisional_source"], how="left", nulls_equal=False)
        provisional = [small_number_mask(scorecard, threshold, value=c, numerator=n, denominator=d)
                       for c, n, d in (("provisional_value", "provisional_numerator", "provisional_denominator"),
                                       ("provisional_previous_value", None, None),
                                       ("provisional_last_year_value", None, None))]
        scorecard = scorecard.with_columns(
            small_number_mask(scorecard, threshold),
            small_number_mask(scorecard, threshold, value="previous_value", numerator=None, denominator=None)
            .alias("previous_suppressed"),
            provisional[0].alias("provisional_suppressed"),
            (provisional[0] | provisional[1] | provisional[2]).alias("provisional_trend_suppressed"))
        trends = suppress_for_publication(trends, threshold)
    else:
        scorecard = scorecard.with_columns(pl.lit(False).alias("is_suppressed"),
                                           pl.lit(False).alias("previous_suppressed"),
                                           pl.lit(False).alias("provisional_suppressed"),
                                           pl.lit(False).alias("provisional_trend_suppressed"))
    breaks = read.breaks
    rows = []
    for raw in scorecard.iter_rows(named=True):
        row = _display_row(raw, labels, reporting_date, threshold, publication)
        series = _trend_series(trends, raw)
        # a KPI's own breaks are footnotes like the other flags; the SN groupings' break applies to
        # every SN line alike: the method note names the groupings used for every year instead
        row["flags"] += breaks_crossed(series, raw, [b for b in breaks if b.kpi_ids])
        points = _trend_points(series, raw)
        row["trend_points"] = points
        row["trend_svg"] = trend_svg(f"trend-{row['kpi_id']}", f"{row['kpi_id']} {row['title']}", points,
                                     row["unit"], int(row["decimal_places"] or 0), la.la_name)
        rows.append(row)

    if publication:
        data = _suppress_data(data, threshold)

    pairs = {(r["source"], r["release"]) for r in rows if r["source"]}
    pairs |= {(s, r) for s, r in data.select("source", "release").unique().iter_rows() if s}
    report = ScorecardReport(
        la=la, reporting_period=reporting_period, reporting_date=reporting_date, publication=publication,
        threshold=threshold, summary=summary, rows=rows, sources=_sources(con, pairs),
        pipeline_run=read.pipeline_run, data=data,
    )
    report.sn_groupings = read.sn_groupings
    report.targets_note = targets_note(la, rows)
    report.families = [
        _family(code, f"{code}: {title}", title, [r for r in report.rated_rows if r["family"] == code],
                sum(1 for r in rows if r["family"] == code))
        for code, title in FAMILY_TITLES.items()
    ]
    return report


def _sn_groupings(con: duckdb.DuckDBPyConnection, la_code: str) -> str | None:
    """The SN groupings behind the LA's SN averages; None in an archived month from before they were named."""
    try:
        groupings = con.execute("""select distinct sn_groupings from marts.fct_kpi_benchmarks
            where la_code = ? and sn_groupings is not null order by 1""", [la_code]).fetchall()
    except duckdb.Error:
        return None
    return ", ".join(g for (g,) in groupings) or None


def _family(code: str, heading: str, title: str, rows: list[dict], n_catalogue: int) -> dict:
    """One table of the scorecard: its rows, and their notes (sources and flags) numbered once each,
    in the order they first appear; each row gets `note_refs`, the numbers of its notes."""
    notes: dict[str, int] = {}
    for row in rows:
        texts = [t for t in (row["source_note"], *row["flags"]) if t]
        row["note_refs"] = [notes.setdefault(text, len(notes) + 1) for text in texts]
    return {"code": code, "heading": heading, "title": title, "rows": rows, "n_catalogue": n_catalogue,
            "notes": [{"n": n, "text": text} for text, n in notes.items()]}


def _provisional_counts(con: duckdb.DuckDBPyConnection, la_code: str) -> pl.DataFrame:
    """The numerator and denominator behind each provisional (local monthly) figure, from fct_kpi_values,
    so the publication variant can judge a local rate by its counts as it judges a published one."""
    return _frame(con, """
        select kpi_id, period_key as provisional_period_key, source as provisional_source,
            max(numerator) as provisional_numerator, max(denominator) as provisional_denominator
        from marts.fct_kpi_values where geo_level = 'la' and geo_code = ?
        group by kpi_id, period_key, source""", [la_code])


def _suppress_data(data: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """The Data sheet for publication: small values, and what would reveal them (rank, quartile,
    change from the previous period), blanked."""
    flag = small_number_mask(data, threshold)
    previous = small_number_mask(data, threshold, value="previous_value", numerator=None, denominator=None)
    data = suppress_for_publication(data, threshold).with_columns(flag.alias("__hide"), previous.alias("__prev"))
    return data.with_columns(
        *(pl.when(pl.col("__hide")).then(None).otherwise(pl.col(c)).alias(c) for c in ("national_rank", "quartile_band")),
        pl.when(pl.col("__hide") | pl.col("__prev")).then(None).otherwise(pl.col("change_from_previous"))
        .alias("change_from_previous"),
        pl.when(pl.col("__prev")).then(None).otherwise(pl.col("previous_value")).alias("previous_value"),
    ).drop("__hide", "__prev")


@functools.cache
def _templates():
    """The page templates (compiled once per process: compiling took longer than rendering)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(loader=PackageLoader("pipelines", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def compile_templates() -> None:
    """Compile the page templates now (the refresh does it while dbt builds in its own process)."""
    for name in ("scorecard.html.j2", "drilldown.html.j2"):
        _templates().get_template(name)


def render_drilldown(report: ScorecardReport) -> str:
    """The drill-down page (report built with drilldown=True): self-contained HTML like the scorecard."""
    return _templates().get_template("drilldown.html.j2").render(
        report=report, la=report.la, sections=report.drilldown or [], scorecard_file=f"{report.slug}.html")


def write_drilldown(warehouse: Path, la: str, period: str | None = None, out_dir: Path | None = None, *,
                    report: ScorecardReport | None = None) -> Path:
    """Write the drill-down page of one LA's scorecard beside it; returns its path. `report` (built
    with drilldown=True) is used instead of building it again."""
    if report is None or report.drilldown is None:
        report = build_report(warehouse, la, period, drilldown=True)
    target = Path(out_dir) if out_dir else reports_dir(warehouse)
    html = render_drilldown(report)
    return _write_atomically(target / report.drilldown_name, lambda p: p.write_text(html, encoding="utf-8"))


def render_html(report: ScorecardReport) -> str:
    """The scorecard page: self-contained HTML (inline CSS and SVG, no scripts, no external URL)."""
    template = _templates().get_template("scorecard.html.j2")
    return template.render(
        report=report, la=report.la, summary=report.summary, legend=legend_svg(report.la.la_name),
        rag_order=RAG_ORDER, symbol=SUPPRESSED_SYMBOL,
    )


def apply_settings(report: ScorecardReport, path: Path | None) -> None:
    """Show the LA's priorities, themes, owners and commentary (pipelines.reports.settings) on the
    rows of `report`; a theme in any row regroups the tables by theme. A file that cannot be read
    leaves the report as it is, with `settings_note` saying why."""
    if path is None:
        return
    month = (report.archived_on or report.as_of.date()).strftime("%Y-%m")
    try:
        by_kpi = settings_for(read_settings(path, {r["kpi_id"] for r in report.rows}), month)
    except SendScorecardError as exc:
        report.settings_note = f"The scorecard settings were not used: {exc}"
        return
    for row in report.rows:
        kpi = by_kpi.get(row["kpi_id"])
        if kpi is None:
            continue
        row["settings"] = kpi
        row["settings_words"] = [f"{label}: {value}" for label, value in (
            ("priority", kpi.priority), ("owner", kpi.owner)) if value]
        if kpi.commentary:
            byline = ", ".join(p for p in (kpi.owner, f"written for {month_label(kpi.period)}") if p)
            changed = None
            if kpi.figure and row["value_text"] and kpi.figure != row["value_text"]:
                changed = (f"The figure has changed since this comment was written (then {kpi.figure}, "
                           f"now {row['value_text']}).")
            row["commentary"] = {"text": kpi.commentary, "byline": byline, "changed": changed}
    themes = [t for t in dict.fromkeys(r["settings"].theme for r in report.rows
                                        if r.get("settings") and r["settings"].theme)]
    if themes:
        rated = report.rated_rows
        groups = [(theme, [r for r in rated if r.get("settings") and r["settings"].theme == theme]) for theme in themes]
        groups.append(("Other measures", [r for r in rated if not (r.get("settings") and r["settings"].theme)]))
        report.families = [
            _family(f"T{i}", title, title, rows, sum(1 for r in report.rows if r in rows or (
                r.get("settings") and r["settings"].theme == title)))
            for i, (title, rows) in enumerate(groups, start=1) if rows
        ]


def _write_atomically(target: Path, write) -> Path:
    """Write through a temporary file and rename, so a reader (or a mail merge) never picks up half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)  # mkstemp makes the file private; a report is meant to be shared
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def archive_reports(warehouse: Path, la: str, paths: list[Path], day: dt.date | None = None) -> Path:
    """Keep `paths` (the reports a refresh just wrote) and the LA's scorecard data under
    archive/<day>/; `day` defaults to the date the warehouse's data was loaded."""
    from pipelines.reports.archive import archive_root, write_archive_data

    con = connect_warehouse(Path(warehouse), read_only=True)
    try:
        authority = resolve_la(con, la)
        if day is None:
            run = _pipeline_run(con)
            day = run["at"].date() if run and isinstance(run.get("at"), dt.datetime) else dt.date.today()
        folder = archive_root(warehouse) / day.isoformat()
        scratch = folder.with_name(f".{folder.name}.tmp")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        write_archive_data(con, authority.la_code, scratch)
    finally:
        con.close()
    for path in paths:
        shutil.copy2(path, scratch / Path(path).name)
    settings = settings_path(config.raw_dir())
    if settings:  # that month's priorities and commentary, for `report --period`
        shutil.copy2(settings, scratch / settings.name)
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    return folder


def targets_note(la, rows: list[dict]) -> str:
    """Who set the targets and when (grouped by setter and date), or that there are none and what the
    measures are rated against instead."""
    benchmarks = (f"the {la.region_name or 'regional'} and England figures (Green when better than both, Red when "
                  "worse than both)")
    targeted = [r for r in rows if r["target"] is not None]
    if not targeted:
        return f"No targets have been set for {la.la_name}: each measure is rated against {benchmarks} instead."
    groups: dict[tuple[str, str], list[str]] = {}
    for r in targeted:
        agreed = f", agreed {r['target_agreed_on']:%d %b %Y}" if r.get("target_agreed_on") else ""
        groups.setdefault((r.get("target_set_by") or "an unnamed owner", agreed), []).append(r["kpi_id"])
    parts = [f"{_and_list(kpis)} by {who}{agreed}" for (who, agreed), kpis in groups.items()]
    return (f"Targets set by the scorecard owner: {'; '.join(parts)}. Measures without a target are rated against "
            f"{benchmarks}.")


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def build_report(warehouse: Path, la: str, period: str | None = None, publication: bool = False,
                 settings_file: Path | None = None, drilldown: bool = False) -> ScorecardReport:
    """Read the scorecard of the LA named by `la` for `period`: a reporting period of the published
    warehouse (opened read-only; default the latest), or a date or month of the monthly archive
    (pipelines.reports.archive), which regenerates that month's report. The report says what
    changed since the archived report before it, and shows the LA's scorecard settings
    (`settings_file`, default the drop-zone's scorecard_settings.csv/.xlsx; an archived month's own copy)."""
    return _build(warehouse, la, period, (publication,), settings_file, drilldown)[0]


def build_reports(warehouse: Path, la: str, period: str | None = None, settings_file: Path | None = None
                  ) -> tuple[ScorecardReport, ScorecardReport]:
    """The working scorecard (with its drill-down) and its publication variant, as build_report
    makes them, from one reading of the warehouse (what a refresh writes)."""
    working, publication = _build(warehouse, la, period, (False, True), settings_file, drilldown=True)
    return working, publication


def _build(warehouse: Path, la: str, period: str | None, variants: tuple[bool, ...], settings_file: Path | None,
           drilldown: bool) -> list[ScorecardReport]:
    """One report per variant (publication or not) from one reading of the marts; the drill-down on
    the working variant only."""
    from pipelines.reports.archive import (
        archived,
        changes_since,
        find_archive,
        open_archive,
        previous_archive,
    )

    warehouse = Path(warehouse)
    folder = find_archive(warehouse, period) if period else None
    con = open_archive(folder) if folder else connect_warehouse(warehouse, read_only=True)
    try:
        check_marts(con, warehouse)
        authority = resolve_la(con, la)
        try:
            reporting_period, reporting_date = resolve_period(con, authority.la_code, None if folder else period)
        except SendScorecardError as exc:
            held = [d.isoformat() for d, _ in archived(warehouse)]
            raise SendScorecardError(str(exc).rstrip(".") + (
                f"; the monthly archive holds: {', '.join(held)}." if held else "; nothing is archived yet.")) from exc
        read = _read_marts(con, authority, reporting_period, reporting_date)
        settings = settings_file if settings_file is not None else (
            settings_path(folder) if folder else settings_path(config.raw_dir()))
        reports, changes = [], None
        for publication in variants:
            report = load_report(con, authority, reporting_period, reporting_date, publication=publication,
                                 read=read)
            if folder:
                report.archived_on = dt.date.fromisoformat(folder.name)
            apply_settings(report, settings)
            previous = previous_archive(warehouse, report.archived_on or report.as_of.date())
            if previous:  # the same for every variant: read once
                changes = changes if changes is not None else changes_since(
                    con, authority.la_code, reporting_period, previous)
                report.changes = copy.deepcopy(changes)
            if drilldown and not publication:
                from pipelines.reports.drilldown import drilldown_sections

                report.drilldown = drilldown_sections(con, report)
            reports.append(report)
        return reports
    finally:
        con.close()


def write_reports(warehouse: Path, la: str, period: str | None = None, *, publication: bool = False,
                  out_dir: Path | None = None, report: ScorecardReport | None = None) -> list[Path]:
    """Write the HTML page and the workbook of one LA's scorecard; returns their paths.

    `la` is a code, 3-digit number or name; `period` a reporting period of fct_scorecard (default the
    latest). Files go to `out_dir` (default `<warehouse dir>/reports/`); publication=True writes the
    `-publication` variant with small-number suppression. The warehouse is only read. `report` (from
    build_reports) is written instead of building it again; it says itself which variant it is.
    """
    from pipelines.reports.workbook import write_workbook

    report = report or build_report(warehouse, la, period, publication=publication)
    target = Path(out_dir) if out_dir else reports_dir(warehouse)
    html = render_html(report)
    html_path = _write_atomically(target / f"{report.slug}.html",
                                  lambda p: p.write_text(html, encoding="utf-8"))
    xlsx_path = _write_atomically(target / f"{report.slug}.xlsx", lambda p: write_workbook(report, p))
    return [html_path, xlsx_path]

