"""`send-scorecard dq-report`: one self-contained HTML page on the quality of every raw source.

Per source: its last load, pass / warn / fail of the latest check of each of its files, what failed
in plain words (with the documented reason for known quirks), a sample of failing rows, the trend
of failures over recent loads (inline SVG), and the KPIs that rest on it. The page has inline CSS
only (no scripts, fonts or links to other sites), so it opens offline and can be e-mailed.
The warehouse is opened read-only.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import click

from pipelines import config
from pipelines.errors import SendScorecardError
from pipelines.ingest.sources import SOURCES, SOURCES_BY_TABLE

TREND_RUNS = 12  # validation runs shown in each source's trend
SAMPLE_ROWS = 5  # failing rows shown per failed expectation
ROW_FIELDS = ("source_row", "time_period", "years", "geographic_level", "new_la_code", "la_number", "la_name",
              "la_and_regions", "measure", "measure_short", "value_raw", "value", "value_status")

# Used when the dbt seeds are not there: which KPIs (by title) rest on each source.
FALLBACK_KPIS: dict[str, list[str]] = {
    "ehcp_timeliness": ["New EHC plans issued within 20 weeks (with and without exceptions)",
                        "New EHC plans issued in the period"],
    "ehcp_caseload": ["Children and young people with an EHC plan", "Placements in independent / non-maintained "
                      "special schools"],
    "ehcp_requests": ["Requests for an EHC needs assessment", "Disputes into mediation and tribunal"],
    "ehcp_newplans": ["New EHC plans issued in the period"],
    "lait_indicators": ["SEN population shares", "KS2 and KS4 outcomes for pupils with SEN",
                        "20-week timeliness and caseload before the EHC plans release"],
    "neet_send": ["16-17 year olds with an EHC plan / SEN support NEET or not known"],
    "school_pupils": ["Total school population"],
    "ks4_characteristics": ["Average Attainment 8 by SEN status"],
}
# Sources every KPI depends on indirectly.
SHARED_ROLES = {
    "la_reference": "every KPI: LA codes, names and regions of all rows, and the LA list of rankings",
    "statistical_neighbours": "every benchmarked KPI: the statistical neighbour averages",
    "lait_data_dictionary": "the LAIT KPIs: their polarity and units",
    "lait_la_list": "the LAIT KPIs: LAIT's LA numbers",
    "ees_metadata": "the EES KPIs: indicator units and decimal places",
}


@dataclass
class SourceReport:
    table: str
    title: str
    status: str = "not checked"  # pass / warn / fail / not checked
    last_load: dict | None = None
    last_good: dict | None = None  # the latest load that wrote data, when the latest attempt did not
    latest_runs: list[dict] = field(default_factory=list)  # the latest run of each file of the source
    findings: list[dict] = field(default_factory=list)  # failed expectations of those runs
    samples: dict[str, list[dict]] = field(default_factory=dict)  # run_id|check -> rows
    trend: list[dict] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)


def report_path(warehouse: Path) -> Path:
    return Path(warehouse).parent / "reports" / "data-quality.html"


def write_report(warehouse: Path, output: Path | None = None) -> Path:
    """Write the report next to the warehouse (`<warehouse dir>/reports/data-quality.html`)."""
    page = build_report(warehouse)
    path = output or report_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def build_report(warehouse: Path, now: dt.datetime | None = None) -> str:
    from pipelines.ingest.loader import connect_warehouse

    con = connect_warehouse(Path(warehouse), read_only=True)
    try:
        sources = collect(con)
        sen2 = sen2_checks(con)
    finally:
        con.close()
    return render(sources, Path(warehouse), now or dt.datetime.now(), sen2)


# --- reading the warehouse ----------------------------------------------------------------------------

def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [schema, table]).fetchall()[0][0])


def _dicts(con, query: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def collect(con) -> list[SourceReport]:
    has_runs = _exists(con, "dq", "validation_runs") and _exists(con, "dq", "expectation_results")
    has_loads = _exists(con, "meta", "file_loads")
    has_rows = _exists(con, "quarantine", "rows")
    kpis = kpis_by_source()
    tables = [s.table for s in SOURCES]
    if has_runs:
        tables += [r["source"] for r in _dicts(con, "select distinct source from dq.validation_runs")
                   if r["source"] not in tables]
    reports = []
    for table in tables:
        spec = SOURCES_BY_TABLE.get(table)
        report = SourceReport(table=table, title=spec.title if spec else table, kpis=kpis.get(table, []))
        if has_loads:
            loads = _dicts(con, "select source_file, status, rows, message, loaded_at from meta.file_loads "
                                "where source = ? order by loaded_at desc limit 1", [table])
            report.last_load = loads[0] if loads else None
            if report.last_load and report.last_load["status"] != "loaded":
                good = _dicts(con, "select source_file, rows, loaded_at from meta.file_loads where source = ? "
                                   "and status = 'loaded' order by loaded_at desc limit 1", [table])
                report.last_good = good[0] if good else None
        if has_runs:
            _add_runs(con, report, has_rows)
        if report.last_load and report.last_load["status"] == "failed":
            report.status = "fail"  # refused before its checks could run (unreadable, or no pseudonymisation key)
        reports.append(report)
    return reports


def sen2_checks(con) -> dict | None:
    """The latest SEN2 return's pre-submission checks (counts only; the records are in the restricted
    schema) and, once dbt has built it, its reconciliation with the published figures."""
    if not _exists(con, "dq", "sen2_validation_summary") or not _exists(con, "raw", "sen2_returns"):
        return None
    returns = _dicts(con, "select * from raw.sen2_returns order by extract_date desc, loaded_at desc limit 1")
    if not returns:
        return None
    latest = returns[0]
    rules = _dicts(con, "select rule, description, spec_section, records from dq.sen2_validation_summary "
                        "where extract_date = ? order by rule", [latest["extract_date"]])
    reconciliation = []
    if _exists(con, "marts", "fct_local_reconciliation"):
        reconciliation = _dicts(con, """
            select kpi_id, period_key, local_value, published_value, difference, reason
            from marts.fct_local_reconciliation where local_source = 'sen2_return'
            order by kpi_id, period_key""")
    return {"return": latest, "rules": rules, "reconciliation": reconciliation}


def _sen2_section(sen2: dict | None) -> str:
    if not sen2:
        return ""
    ret = sen2["return"]
    broken = sum(r["records"] for r in sen2["rules"])
    rows = "".join(
        f"<tr><td>{_badge('pass' if r['records'] == 0 else 'warn')}</td><td>{_e(r['rule'])}</td>"
        f"<td>{_e(r['description'])}</td><td>{_e(r['spec_section'])}</td><td>{r['records']:,}</td></tr>"
        for r in sen2["rules"])
    out = [f'<section class="source" id="sen2"><h2>SEN2 return: the checks DfE will apply</h2>'
           f"<p>{_e(ret['source_file'])}: LA {_e(ret['la_number'])}, specification {_e(ret['spec_version'])}, census "
           f"reference date {_when(ret['reference_date'])}, extracted {_when(ret['extract_date'])}; "
           f"{ret['persons']:,} persons, {ret['requests']:,} requests. "
           + ("Every check passed." if broken == 0 else
              f"{broken:,} record(s) break a check: fix them in the case-management system before submitting. "
              "The records are listed by pseudonymous key in casework_restricted.sen2_validation_issues "
              "(restricted: not for publication).")
           + "</p><table><tr><th></th><th>check</th><th>what it requires</th><th>SEN2 2023 specification v1.1</th>"
           f"<th>records</th></tr>{rows}</table>"]
    if sen2["reconciliation"]:
        lines = "".join(
            f"<tr><td>{_e(r['kpi_id'])}</td><td>{_e(r['period_key'])}</td><td>{_e(r['local_value'])}</td>"
            f"<td>{_e(r['published_value'])}</td><td>{_e(r['difference'])}</td><td>{_e(r['reason'])}</td></tr>"
            for r in sen2["reconciliation"])
        out.append("<h3>Against the published figures</h3><table><tr><th>KPI</th><th>year</th><th>SEN2 return</th>"
                   f"<th>published</th><th>difference</th><th>reason</th></tr>{lines}</table>")
    out.append("</section>")
    return "".join(out)


def _add_runs(con, report: SourceReport, has_rows: bool) -> None:
    runs = _dicts(con, "select * from dq.validation_runs where source = ? order by finished_at", [report.table])
    if not runs:
        return
    latest: dict[str, dict] = {}
    for run in runs:
        latest[_base(run["source_file"])] = run
    report.latest_runs = sorted(latest.values(), key=lambda r: r["finished_at"], reverse=True)
    report.trend = runs[-TREND_RUNS:]
    if any(not r["success"] for r in report.latest_runs):
        report.status = "fail"
    elif any(r["warnings"] for r in report.latest_runs):
        report.status = "warn"
    else:
        report.status = "pass"
    ids = [r["run_id"] for r in report.latest_runs]
    marks = ", ".join("?" for _ in ids)
    report.findings = _dicts(
        con, f"select * from dq.expectation_results where run_id in ({marks}) and success = false "
             "order by case severity when 'fail' then 0 else 1 end, source_file, check_name", ids)
    for finding in report.findings:
        key = f"{finding['run_id']}|{finding['check_name']}"
        rows: list[dict] = []
        if has_rows and finding["severity"] == "fail":
            rows = [json.loads(r["row_json"]) for r in _dicts(
                con, "select row_json from quarantine.rows where run_id = ? and check_name = ? "
                     "order by source_row limit ?", [finding["run_id"], finding["check_name"], SAMPLE_ROWS])]
        if not rows and finding.get("unexpected_sample"):
            rows = json.loads(finding["unexpected_sample"])[:SAMPLE_ROWS]
        report.samples[key] = rows


def _base(name: str) -> str:
    return name.split("!")[-1].rsplit("/", 1)[-1]


def kpis_by_source(seeds: Path | None = None) -> dict[str, list[str]]:
    """Source -> "KPI id title" lines, from the dbt seeds (kpi_source_measures + kpi_catalogue) when they
    exist, else from FALLBACK_KPIS; the shared reference sources get their role in words."""
    seeds = seeds or config.DBT_PROJECT_DIR / "seeds"
    catalogue_path, measures_path = seeds / "kpi_catalogue.csv", seeds / "kpi_source_measures.csv"
    out: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    if catalogue_path.exists():
        with catalogue_path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        titles = {r["kpi_id"]: r.get("title", "") for r in rows if r.get("kpi_id")}
        if not measures_path.exists():  # match the catalogue's source descriptions by file / data set name
            hints = {s.table: _hints(s) for s in SOURCES}
            for row in rows:
                text = f"{row.get('national_source', '')} {row.get('local_source', '')}".lower()
                for table, words in hints.items():
                    if any(w in text for w in words):
                        out.setdefault(table, []).append(f"{row['kpi_id']} {row.get('title', '')}")
    if measures_path.exists():
        with measures_path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                line = f"{row['kpi_id']} {titles.get(row['kpi_id'], '')}".strip()
                if line not in out.setdefault(row["source"], []):
                    out[row["source"]].append(line)
    if not out:
        out = {k: list(v) for k, v in FALLBACK_KPIS.items()}
    for table, role in SHARED_ROLES.items():
        out.setdefault(table, []).insert(0, f"Indirectly {role}")
    return out


def _hints(spec) -> list[str]:
    stem = spec.name_pattern.strip("^$").split("\\")[0].split("(")[0].split(".")[0].strip("^")
    words = {stem.lower()} if len(stem) > 3 else set()
    if spec.family == "lait":
        words.add("lait")
    if spec.table == "neet_send":
        words.add("neet files")
    if spec.table == "ks4_characteristics":
        words.add("ks4 characteristics")
    if spec.table == "school_pupils":
        words.add("school-pupils")
    return sorted(words)


# --- rendering -------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#1d2329;background:#f4f5f7}
header{background:#1d3557;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85;font-size:13px}main{padding:18px 28px;max-width:1200px}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.tile{background:#fff;border-radius:6px;padding:10px 16px;border-left:6px solid #999;min-width:120px}
.tile b{display:block;font-size:22px}.tile.fail{border-color:#c0392b}.tile.warn{border-color:#e0a800}
.tile.pass{border-color:#2e8540}.tile.none{border-color:#9aa5b1}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef1f4;font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.fail{background:#c0392b}.badge.warn{background:#b58900}.badge.pass{background:#2e8540}
.badge.none{background:#7b8794}
section.source{background:#fff;border-radius:6px;padding:12px 16px;margin:14px 0;border-left:6px solid #9aa5b1}
section.source.fail{border-color:#c0392b}section.source.warn{border-color:#e0a800}
section.source.pass{border-color:#2e8540}
section.source h2{font-size:17px;margin:0 0 6px}section.source h2 small{font-weight:400;color:#52606d}
.meta{color:#52606d;font-size:13px;margin:2px 0 8px}.finding{margin:8px 0 12px}
.finding p{margin:2px 0}.reason{color:#52606d;font-style:italic}
.rows td,.rows th{font-family:ui-monospace,Consolas,monospace;font-size:12px}
.trend{display:flex;align-items:center;gap:10px;font-size:12px;color:#52606d}
ul.kpis{margin:4px 0;padding-left:18px;font-size:13px}
footer{color:#7b8794;font-size:12px;padding:10px 28px 30px}
header p,.meta{overflow-wrap:anywhere}
@media (max-width:760px){header,main,footer{padding-left:12px;padding-right:12px}
table{display:block;overflow-x:auto;max-width:100%}.tile{min-width:0;flex:1 1 40%}
section.source{padding:10px}}
"""
STATUS_WORDS = {"pass": "pass", "warn": "warn", "fail": "fail", "not checked": "not checked"}


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _badge(status: str) -> str:
    css = status if status in ("pass", "warn", "fail") else "none"
    return f'<span class="badge {css}">{_e(STATUS_WORDS.get(status, status))}</span>'


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else _e(value)


def trend_svg(runs: list[dict]) -> str:
    """Bars, oldest first: height = failed expectations of the run; red when it blocked, amber for warnings."""
    if not runs:
        return ""
    width, height, bar = 14 * len(runs) + 4, 40, 10
    most = max([r["failed"] + r["warnings"] for r in runs] + [1])
    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'aria-label="failures in the last {len(runs)} checks">',
             f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" stroke="#cbd2d9"/>']
    for i, run in enumerate(runs):
        count = run["failed"] + run["warnings"]
        colour = "#c0392b" if run["failed"] else "#e0a800" if run["warnings"] else "#2e8540"
        h = 3 if not count else 6 + round((height - 8) * count / most)
        label = (f"{_when(run['finished_at'])} {_base(run['source_file'])}: {run['failed']} blocking, "
                 f"{run['warnings']} warning(s)")
        parts.append(f'<rect x="{2 + 14 * i}" y="{height - 1 - h}" width="{bar}" height="{h}" fill="{colour}">'
                     f"<title>{_e(label)}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)


def sparkline(runs: list[dict]) -> str:
    blocks = "▁▂▃▄▅▆▇█"
    counts = [r["failed"] + r["warnings"] for r in runs]
    most = max(counts + [1])
    return "".join(blocks[min(7, round(7 * c / most))] for c in counts)


def _rows_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    fields = [f for f in ROW_FIELDS if any(f in r for r in rows)]
    if len(fields) < 4:  # a source without the usual columns (a local extract): its first columns
        fields += [k for k in rows[0] if k not in fields and not k.startswith("dq_")
                   and k not in ("source_file", "file_sha256", "release", "loaded_at")][: 8 - len(fields)]
    head = "".join(f"<th>{_e(f)}</th>" for f in fields)
    body = "".join("<tr>" + "".join(f"<td>{_e(r.get(f))}</td>" for f in fields) + "</tr>" for r in rows)
    return f'<table class="rows"><tr>{head}</tr>{body}</table>'


def _source_section(r: SourceReport) -> str:
    css = r.status if r.status in ("pass", "warn", "fail") else "none"
    out = [f'<section class="source {css}" id="{_e(r.table)}"><h2>{_badge(r.status)} raw.{_e(r.table)} '
           f"<small>{_e(r.title)}</small></h2>"]
    if r.last_load:
        load = r.last_load
        out.append(f'<p class="meta">Last load: {_when(load["loaded_at"])}, {_e(load["source_file"])} '
                   f'({_e(load["status"])}, {load["rows"] or 0:,} rows)</p>')
        if r.last_good:
            good = r.last_good
            out.append(f'<p class="meta">The warehouse keeps the last good data: {_e(good["source_file"])}, '
                       f'loaded {_when(good["loaded_at"])} ({good["rows"] or 0:,} rows).</p>')
        elif load["status"] != "loaded":
            out.append('<p class="meta">No file of this source has loaded yet.</p>')
        if load["status"] == "failed":
            out.append(f'<p class="meta">Refused: {_e(load["message"])}</p>')
    else:
        out.append('<p class="meta">Never loaded.</p>')
    if r.latest_runs:
        out.append("<table><tr><th>file</th><th>checked</th><th>rows</th><th>result</th><th>message</th></tr>")
        for run in r.latest_runs:
            state = "fail" if not run["success"] else "warn" if run["warnings"] else "pass"
            out.append(f"<tr><td>{_e(run['source_file'])}</td><td>{_when(run['finished_at'])}</td>"
                       f"<td>{run['rows'] or 0:,}</td><td>{_badge(state)}</td><td>{_e(run['message'])}</td></tr>")
        out.append("</table>")
    for f in r.findings:
        severity = "blocking" if f["severity"] == "fail" else "warning"
        sentence = f["failure"] or f["description"]
        out.append(f'<div class="finding"><p>{_badge("fail" if f["severity"] == "fail" else "warn")} '
                   f"<b>{_e(f['description'])}</b> ({severity}, check <code>{_e(f['check_name'])}</code>"
                   f", {_e(_base(f['source_file']))})</p><p>{_e(sentence)}.</p>")
        if f.get("reason"):
            out.append(f'<p class="reason">Known quirk: {_e(f["reason"])}</p>')
        out.append(_rows_table(r.samples.get(f"{f['run_id']}|{f['check_name']}", [])))
        out.append("</div>")
    if r.trend:
        out.append(f'<div class="trend"><span>Last {len(r.trend)} checks:</span>{trend_svg(r.trend)}'
                   f'<span title="text version">{_e(sparkline(r.trend))}</span></div>')
    if r.kpis:
        out.append("<p class=\"meta\">KPIs resting on this source:</p><ul class=\"kpis\">"
                   + "".join(f"<li>{_e(k)}</li>" for k in r.kpis) + "</ul>")
    out.append("</section>")
    return "".join(out)


def render(sources: list[SourceReport], warehouse: Path, now: dt.datetime, sen2: dict | None = None) -> str:
    counts = {s: sum(1 for r in sources if r.status == s) for s in ("fail", "warn", "pass", "not checked")}
    order = {"fail": 0, "warn": 1, "pass": 2, "not checked": 3}
    ranked = sorted(sources, key=lambda r: (order.get(r.status, 4), r.table))
    tiles = "".join(
        f'<div class="tile {"none" if s == "not checked" else s}"><b>{n}</b>'
        f'{_e({"fail": "blocked (quarantined)", "warn": "loaded with warnings", "pass": "passed", "not checked": "not checked yet"}[s])}</div>'  # noqa: E501
        for s, n in counts.items())
    overview = "".join(
        f'<tr><td>{_badge(r.status)}</td><td>raw.{_e(r.table)}</td>'
        f"<td>{_when(r.last_load['loaded_at']) if r.last_load else '-'}</td>"
        f"<td>{len([f for f in r.findings if f['severity'] == 'fail'])}</td>"
        f"<td>{len([f for f in r.findings if f['severity'] != 'fail'])}</td></tr>"
        for r in ranked)
    sections = _sen2_section(sen2) + "".join(_source_section(r) for r in ranked)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SEND scorecard: data quality</title><style>{CSS}</style></head>
<body><header><h1>SEND scorecard: data quality of the raw sources</h1>
<p>Warehouse {_e(warehouse)}, report made {now:%Y-%m-%d %H:%M}. Each file is checked against its source's
expectations before it loads: a failed blocking check quarantines the file and keeps the source's last
good data; a warning lets it load and is reported here.</p></header>
<main><div class="summary">{tiles}</div>
<table><tr><th>status</th><th>source</th><th>last load</th><th>blocking failures</th><th>warnings</th></tr>
{overview}</table>
{sections}</main>
<footer>Made by send-scorecard dq-report from dq.validation_runs, dq.expectation_results, quarantine.* and
meta.file_loads. Expectation suites: expectations/*.json.</footer></body></html>
"""


@click.command("dq-report")
@click.option("--output", type=click.Path(path_type=Path), help="File to write (default <warehouse dir>/reports/"
                                                                "data-quality.html).")
def dq_report(output: Path | None) -> None:
    """Write the data-quality report (HTML) of every raw source."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True)
    try:
        path = write_report(config.warehouse_path(), output)
    except SendScorecardError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(1) from exc
    console.print(f"Wrote the data-quality report to {path}", highlight=False)
