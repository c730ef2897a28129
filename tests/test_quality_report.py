"""The data-quality report (`send-scorecard dq-report`): one offline HTML page naming what failed."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.ingest.loader import connect_warehouse, ensure_meta, load_raw_file
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES, SOURCES_BY_TABLE
from pipelines.quality.report import FALLBACK_KPIS, build_report, kpis_by_source, report_path, write_report

LA_LOOKUP = """new_la_code,la_name,date_of_operation,date_of_termination,parent_geography_code,entity_code,entity_description,status,old_la_code
E08000007,Stockport,01/01/2009,,E12000002,E08,Metropolitan Districts,live,356
E08000003,Manchester,01/01/2009,,E12000002,E08,Metropolitan Districts,live,352
"""
HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,new_la_code,"
          "old_la_code,la_name,breakdown_topic,breakdown,plans_issued_den,plans_issued_den_ex,"
          "plans_issued_within_20_weeks,plans_issued_20_weeks_ex,pc_plans_issued_within_20_weeks,"
          "pc_plans_issued_20_weeks_ex")


def timeliness(stockport_pc: str = "50") -> RawFile:
    geo = ("202324,Academic year,{level},E92000001,England,{region},{rname},{code},{old},{name},All EHC plans,Total,"
           "{n},{n},{n},{n},{pc},{pc}")
    rows = [
        geo.format(level="National", region="", rname="", code="", old="", name="", n=30, pc=50),
        geo.format(level="Regional", region="E12000002", rname="North West", code="", old="", name="", n=30, pc=50),
        geo.format(level="Local authority", region="E12000002", rname="North West", code="E08000007", old="356",
                   name="Stockport", n=10, pc=50).rsplit(",", 1)[0] + f",{stockport_pc}",
        geo.format(level="Local authority", region="E12000002", rname="North West", code="E08000003", old="352",
                   name="Manchester", n=20, pc=50),
    ]
    return RawFile(name="timeliness_20_week.csv", data=("\n".join([HEADER, *rows]) + "\n").encode())


class _Page(HTMLParser):
    """Collects the text, tags and every attribute value of a page."""

    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append(f"{name}={value}")
            if name == "id":
                self.ids.add(value)

    def handle_data(self, data):
        self.text.append(data)

    @property
    def words(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def warehouse(tmp_path) -> Path:
    """A warehouse where timeliness loaded once, then a later version was quarantined."""
    path = tmp_path / "warehouse" / "send.duckdb"
    con = connect_warehouse(path)
    ensure_meta(con)
    assert load_raw_file(con, RawFile(name="la_lookup.csv", data=LA_LOOKUP.encode()),
                         SOURCES_BY_TABLE["la_reference"]).status == "loaded"
    spec = SOURCES_BY_TABLE["ehcp_timeliness"]
    assert load_raw_file(con, timeliness(), spec).status == "loaded"
    result = load_raw_file(con, timeliness("180"), spec)
    assert result.status == "quarantined", result.message
    con.close()
    return path


def test_report_names_the_failing_expectation_and_its_rows(warehouse):
    page = build_report(warehouse)
    parsed = parse(page)
    words = parsed.words
    assert "ehcp_timeliness" in parsed.ids
    assert "Every percentage is between 0 and 100" in words
    assert "percentages_in_range" in words
    assert ("timeliness_20_week.csv was quarantined: 1 row has a percentage above 100 (column value, measure "
            "pc_plans_issued_20_weeks_ex)") in words
    section = page[page.rindex("<section", 0, page.index('id="ehcp_timeliness"')):]
    section = section[: section.index("</section>")]
    rows = parse(section)
    assert "180.0" in rows.words and "Stockport" in rows.words and "E08000007" in rows.words
    assert "pc_plans_issued_20_weeks_ex" in rows.words
    assert 'class="source fail"' in section and "svg" in rows.tags and "rect" in rows.tags
    assert "S5" in rows.words  # the KPI resting on the source (from the dbt seeds, or the fallback list)
    assert "la_reference" in parsed.ids and "passed" in words


def test_report_is_self_contained_and_works_offline(warehouse):
    page = build_report(warehouse)
    parsed = parse(page)
    assert not re.search(r"(https?:)?//[a-z0-9]", page, flags=re.IGNORECASE)
    assert not {"script", "link", "img", "iframe"} & set(parsed.tags)
    assert not [a for a in parsed.attributes if a.split("=", 1)[0] in ("src", "href")]
    assert "style" in parsed.tags and page.startswith("<!DOCTYPE html>")
    for spec in SOURCES:  # every registered source has its section, loaded or not
        assert spec.table in parsed.ids


def test_report_of_a_warehouse_without_checks_says_so(tmp_path):
    path = tmp_path / "send.duckdb"
    connect_warehouse(path).close()
    words = parse(build_report(path)).words
    assert "not checked yet" in words and "Never loaded." in words


def test_dq_report_command_writes_next_to_the_warehouse(warehouse, monkeypatch):
    from pipelines.cli import main

    monkeypatch.setenv("SEND_WAREHOUSE", str(warehouse))
    result = CliRunner().invoke(main, ["dq-report"])
    assert result.exit_code == 0, result.output
    target = warehouse.parent / "reports" / "data-quality.html"
    assert target == report_path(warehouse) and target.exists()
    assert "Every percentage is between 0 and 100" in target.read_text()


def test_report_reads_the_warehouse_read_only(warehouse):
    import duckdb

    holder = duckdb.connect(str(warehouse), read_only=True)  # an analyst reading: the report still runs
    try:
        assert write_report(warehouse).exists()
    finally:
        holder.close()


def test_kpis_come_from_the_dbt_seeds_or_a_fallback(tmp_path):
    fallback = kpis_by_source(tmp_path)  # no seeds here
    assert fallback["ehcp_timeliness"] == FALLBACK_KPIS["ehcp_timeliness"]
    assert fallback["la_reference"][0].startswith("Indirectly every KPI")
    (tmp_path / "kpi_catalogue.csv").write_text(
        "kpi_id,title,national_source,local_source\n"
        "S5,New EHC plans issued within 20 weeks,EHC plans release timeliness_20_week.csv; LAIT SEN_EHC_All_20wks,"
        "EHCP casework extract\n")
    from_catalogue = kpis_by_source(tmp_path)
    assert "S5 New EHC plans issued within 20 weeks" in from_catalogue["ehcp_timeliness"]
    assert "S5 New EHC plans issued within 20 weeks" in from_catalogue["lait_indicators"]
    (tmp_path / "kpi_source_measures.csv").write_text("kpi_id,source,measure\nS5,ehcp_timeliness,pc_x\n")
    from_measures = kpis_by_source(tmp_path)
    assert from_measures["ehcp_timeliness"] == ["S5 New EHC plans issued within 20 weeks"]
    assert "lait_indicators" not in from_measures
