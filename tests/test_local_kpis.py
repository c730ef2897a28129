"""The local KPI rules (docs/local-extracts.md) on hand-made rows: every branch of the 20-week rule,
rolling 12-month windows, month boundaries, month-end snapshots and the leading indicator."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.local_kpis_oracle import (
    KPI_SCHEMA,
    active_plan_kpis,
    casework_count_kpis,
    casework_kpis,
    exclusion_kpis,
    leading_indicator_kpis,
    local_kpis,
    local_kpis_from_warehouse,
    local_offer_kpis,
    placement_kpis,
    post16_kpis,
    training_kpis,
    twenty_week_kpis,
)

D = dt.date
EXTRACT = D(2025, 3, 31)
CASEWORK_SCHEMA = {
    "extract_date": pl.Date, "request_key": pl.String, "person_key": pl.String, "request_received_date": pl.Date,
    "decision_to_assess": pl.Boolean, "decision_to_assess_date": pl.Date, "assessment_outcome": pl.String,
    "assessment_outcome_date": pl.Date, "plan_issue_date": pl.Date, "exception_flag": pl.Boolean,
    "mediation": pl.Boolean, "mediation_date": pl.Date, "tribunal": pl.Boolean, "tribunal_date": pl.Date,
    "placement_type": pl.String, "placement_location": pl.String, "plan_ceased_date": pl.Date,
}


def request(received: dt.date, issued: dt.date | None = None, *, outcome: str | None = None,
            exception: bool = False, person: str | None = None, extract: dt.date = EXTRACT, **extra) -> dict:
    """One casework row; the outcome defaults to plan_issued when a plan date is given, else ongoing."""
    row = dict.fromkeys(CASEWORK_SCHEMA)
    row.update(extract_date=extract, request_key=f"r{received}{issued}{person}", person_key=person or f"p{received}",
               request_received_date=received, plan_issue_date=issued, exception_flag=exception,
               assessment_outcome=outcome or ("plan_issued" if issued else "ongoing"), **extra)
    return row


def casework(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=CASEWORK_SCHEMA)


def pick(kpis: pl.DataFrame, measure: str, month: dt.date, period_type: str = "month") -> dict:
    rows = kpis.filter((pl.col("measure") == measure) & (pl.col("month") == month)
                       & (pl.col("period_type") == period_type))
    assert rows.height == 1, (measure, month, period_type, rows)
    return rows.row(0, named=True)


EX, INCL = "pct_within_20_weeks_excl_exceptions", "pct_within_20_weeks_incl_exceptions"


# ---------------------------------------------------------------------------------------------
# S5: the 20-week rule


def test_exactly_140_days_is_within_20_weeks():
    received = D(2024, 6, 3)
    kpis = twenty_week_kpis(casework(request(received, received + dt.timedelta(days=140))))
    row = pick(kpis, EX, D(2024, 10, 1))  # issued 2024-10-21
    assert (row["numerator"], row["denominator"], row["value"]) == (1, 1, 100.0)


def test_141_days_is_not_within_20_weeks():
    received = D(2024, 6, 3)
    kpis = twenty_week_kpis(casework(request(received, received + dt.timedelta(days=141))))
    row = pick(kpis, EX, D(2024, 10, 1))
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 1, 0.0)


def test_plans_with_an_exception_are_left_out_of_the_excluding_figure_only():
    rows = [
        request(D(2024, 6, 3), D(2024, 10, 1)),  # 120 days, no exception: within
        request(D(2024, 5, 1), D(2024, 10, 2)),  # 154 days, no exception: late
        request(D(2024, 4, 1), D(2024, 10, 3), exception=True),  # 185 days, exception: late
        request(D(2024, 6, 10), D(2024, 10, 4), exception=True),  # 116 days, exception: within
    ]
    kpis = twenty_week_kpis(casework(*rows))
    excl, incl = pick(kpis, EX, D(2024, 10, 1)), pick(kpis, INCL, D(2024, 10, 1))
    assert (excl["numerator"], excl["denominator"], excl["value"]) == (1, 2, 50.0)
    assert (incl["numerator"], incl["denominator"], incl["value"]) == (2, 4, 50.0)


def test_exception_flag_unknown_counts_as_no_exception():
    kpis = twenty_week_kpis(casework(request(D(2024, 6, 3), D(2024, 10, 1), exception=None)))
    assert pick(kpis, EX, D(2024, 10, 1))["denominator"] == 1


def test_requests_not_yet_issued_withdrawn_or_refused_are_not_plans():
    rows = [
        request(D(2024, 6, 3), D(2024, 10, 1)),
        request(D(2024, 6, 3), outcome="ongoing"),  # not yet issued: 301 days open at the extract date
        request(D(2024, 6, 4), outcome="withdrawn", assessment_outcome_date=D(2024, 10, 1)),
        request(D(2024, 6, 5), outcome="not_issued", assessment_outcome_date=D(2024, 10, 1)),
        request(D(2024, 6, 6), outcome="not_assessed", decision_to_assess=False, decision_to_assess_date=D(2024, 7, 1)),
    ]
    kpis = twenty_week_kpis(casework(*rows))
    for measure in (EX, INCL):
        assert pick(kpis, measure, D(2024, 10, 1))["denominator"] == 1
    assert kpis.filter(pl.col("denominator") > 0)["month"].unique().to_list() == [D(2024, 10, 1)]


def test_a_month_without_plans_has_no_value():
    kpis = twenty_week_kpis(casework(request(D(2024, 6, 3), D(2024, 10, 1))))
    row = pick(kpis, EX, D(2024, 9, 1))
    assert (row["denominator"], row["value"], row["value_status"]) == (0, None, "missing")


def test_plans_count_in_the_month_of_their_issue_date():
    rows = [request(D(2024, 9, 30), D(2025, 1, 31)), request(D(2024, 10, 1), D(2025, 2, 1))]
    kpis = twenty_week_kpis(casework(*rows))
    assert pick(kpis, INCL, D(2025, 1, 1))["denominator"] == 1
    assert pick(kpis, INCL, D(2025, 2, 1))["denominator"] == 1


def test_rolling_12_months_covers_the_month_and_the_11_before_it():
    rows = [
        request(D(2023, 1, 2), D(2023, 3, 1)),  # the first request: the data start in January 2023
        request(D(2023, 10, 2), D(2024, 2, 29)),  # 150 days, February 2024: just before the window
        request(D(2023, 12, 1), D(2024, 3, 1)),  # 91 days, 1 March 2024: first day of the window
        request(D(2024, 10, 1), D(2025, 2, 28), exception=True),  # 150 days, last day of the window
        request(D(2024, 11, 1), D(2025, 3, 1)),  # 120 days, March 2025: just after the window
    ]
    kpis = twenty_week_kpis(casework(*rows))
    window = pick(kpis, INCL, D(2025, 2, 1), "rolling_12_months")
    assert (window["period_start"], window["period_end"]) == (D(2024, 3, 1), D(2025, 2, 28))
    assert (window["numerator"], window["denominator"], window["value"]) == (1, 2, 50.0)
    excluding = pick(kpis, EX, D(2025, 2, 1), "rolling_12_months")
    assert (excluding["numerator"], excluding["denominator"]) == (1, 1)
    march = pick(kpis, INCL, D(2025, 3, 1), "rolling_12_months")
    assert (march["period_start"], march["numerator"], march["denominator"]) == (D(2024, 4, 1), 1, 2)
    # no rolling value until 12 whole months of data exist (January 2023 + 11)
    rolling_months = kpis.filter(pl.col("period_type") == "rolling_12_months")["month"]
    assert rolling_months.min() == D(2023, 12, 1)


def test_the_extract_month_ends_at_the_extract_date():
    rows = [request(D(2024, 11, 1), D(2025, 3, 14), extract=D(2025, 3, 15))]
    row = pick(twenty_week_kpis(casework(*rows)), INCL, D(2025, 3, 1))
    assert row["period_end"] == D(2025, 3, 15) and row["denominator"] == 1


def test_only_the_latest_snapshot_counts():
    older = request(D(2024, 6, 3), D(2024, 10, 1), extract=D(2025, 2, 28))
    newer = request(D(2024, 6, 3), D(2024, 10, 30), extract=D(2025, 3, 31))
    kpis = twenty_week_kpis(casework(older, newer))
    assert pick(kpis, INCL, D(2024, 10, 1))["denominator"] == 1
    assert kpis["period_end"].max() == D(2025, 3, 31)


# ---------------------------------------------------------------------------------------------
# S6, S9-S13


def test_active_plans_at_month_end():
    rows = [
        request(D(2024, 9, 1), D(2025, 1, 31), person="a"),  # issued on the month end: active
        request(D(2024, 6, 1), D(2024, 10, 1), person="b", plan_ceased_date=D(2025, 1, 31)),  # ceased that day
        request(D(2024, 6, 1), D(2024, 10, 1), person="c", plan_ceased_date=D(2025, 2, 1)),  # ceased next day
        request(D(2024, 6, 1), D(2024, 10, 1), person="d"),
        request(D(2024, 7, 1), D(2024, 11, 1), person="d"),  # a second plan for d: d counted once
        request(D(2024, 9, 1), person="e"),  # no plan
    ]
    kpis = active_plan_kpis(casework(*rows))
    assert pick(kpis, "active_plans", D(2025, 1, 1), "month_end")["value"] == 3  # a, c, d
    assert pick(kpis, "active_plans", D(2025, 2, 1), "month_end")["value"] == 2  # a, d
    assert pick(kpis, "active_plans", D(2024, 12, 1), "month_end")["value"] == 3  # b, c, d


def test_counts_of_new_plans_requests_mediation_and_tribunal():
    rows = [
        request(D(2025, 1, 31), D(2025, 3, 3), mediation=True, mediation_date=D(2025, 3, 1)),
        request(D(2025, 2, 1), tribunal=True, tribunal_date=D(2025, 3, 31)),
        request(D(2025, 2, 28), mediation=True),  # mediation without a date: not in any month
    ]
    kpis = casework_count_kpis(casework(*rows))
    assert pick(kpis, "requests_received", D(2025, 1, 1))["value"] == 1
    assert pick(kpis, "requests_received", D(2025, 2, 1))["value"] == 2
    assert pick(kpis, "new_plans_issued", D(2025, 3, 1))["value"] == 1
    assert pick(kpis, "mediation_cases", D(2025, 3, 1))["value"] == 1
    assert kpis.filter(pl.col("measure") == "mediation_cases")["value"].sum() == 1
    assert pick(kpis, "tribunal_appeals", D(2025, 3, 1))["value"] == 1


def test_placements_counted_per_snapshot():
    rows = [
        request(D(2024, 1, 1), D(2024, 5, 1), placement_type="independent_special",
                placement_location="out_of_borough"),
        request(D(2024, 1, 2), D(2024, 5, 1), placement_type="non_maintained_special", placement_location="in_borough"),
        request(D(2024, 1, 3), D(2024, 5, 1), placement_type="independent_special",
                placement_location="out_of_borough", plan_ceased_date=D(2025, 1, 1)),
        request(D(2024, 1, 4), D(2024, 5, 1), placement_type="maintained_special",
                placement_location="out_of_borough"),
        request(D(2024, 1, 1), D(2024, 5, 1), placement_type="independent_special",
                placement_location="out_of_borough", extract=D(2024, 12, 31)),
    ]
    kpis = placement_kpis(casework(*rows))
    assert pick(kpis, "inmss_placements_out_of_borough", D(2025, 3, 1), "as_at")["value"] == 1
    assert pick(kpis, "inmss_placements_all", D(2025, 3, 1), "as_at")["value"] == 2
    assert pick(kpis, "inmss_placements_out_of_borough", D(2024, 12, 1), "as_at")["value"] == 1


# ---------------------------------------------------------------------------------------------
# The leading indicator


def test_open_requests_past_and_passing_20_weeks():
    ref = D(2025, 1, 31)
    ago = lambda days: ref - dt.timedelta(days=days)  # noqa: E731
    rows = [
        request(ago(141)),  # past 20 weeks
        request(ago(140)),  # day 140: passes tomorrow
        request(ago(113)),  # passes in exactly 28 days
        request(ago(112)),  # passes in 29 days: neither
        request(ago(200), D(2025, 1, 31)),  # issued on the reference date: closed
        request(ago(200), D(2025, 2, 1)),  # issued the day after: still open at the reference date, past
        request(ago(150), outcome="withdrawn", assessment_outcome_date=D(2025, 1, 10)),  # closed
        request(ago(150), outcome="withdrawn"),  # closed without a date: never counted as open
        request(ago(150), outcome="not_assessed", decision_to_assess_date=D(2025, 2, 5)),  # refused later: open
        request(D(2025, 2, 1)),  # received after the reference date
    ]
    kpis = leading_indicator_kpis(casework(*rows))
    month = D(2025, 1, 1)
    assert pick(kpis, "open_requests", month, "month_end")["value"] == 6
    assert pick(kpis, "open_past_20_weeks", month, "month_end")["value"] == 3
    assert pick(kpis, "open_passing_20_weeks_within_4_weeks", month, "month_end")["value"] == 2


# ---------------------------------------------------------------------------------------------
# E7-E10, L1, L2, P1-P10


def exclusions(*rows: tuple[dt.date, str, str]) -> pl.DataFrame:
    return pl.DataFrame([{"exclusion_date": d, "exclusion_type": t, "sen_provision": s} for d, t, s in rows])


def test_exclusions_by_month_and_academic_year_to_date():
    frame = exclusions(
        (D(2024, 8, 30), "suspension", "ehc_plan"),  # previous academic year
        (D(2024, 9, 2), "suspension", "ehc_plan"), (D(2024, 9, 30), "suspension", "sen_support"),
        (D(2024, 9, 30), "suspension", "none"), (D(2024, 10, 1), "suspension", "ehc_plan"),
        (D(2024, 10, 1), "permanent", "sen_support"),
    )
    kpis = exclusion_kpis(frame)
    e7 = kpis.filter(pl.col("kpi_id") == "E7")
    september = pick(e7, "pct_of_all_suspensions", D(2024, 9, 1))
    assert (september["numerator"], september["denominator"], september["value"]) == (1, 3, 33.3)
    to_date = pick(e7, "suspensions", D(2024, 10, 1), "academic_year_to_date")
    assert (to_date["value"], to_date["period_start"], to_date["period_end"]) == (2, D(2024, 9, 1), D(2024, 10, 31))
    assert pick(e7, "suspensions", D(2024, 8, 1), "academic_year_to_date")["period_start"] == D(2023, 9, 1)
    e9 = pick(kpis.filter(pl.col("kpi_id") == "E9"), "pct_of_all_permanent_exclusions", D(2024, 9, 1))
    assert (e9["denominator"], e9["value_status"]) == (0, "missing")
    e10 = pick(kpis.filter(pl.col("kpi_id") == "E10"), "pct_of_all_permanent_exclusions", D(2024, 10, 1))
    assert e10["value"] == 100.0


def test_local_offer_visits_are_sessions_per_month():
    frame = pl.DataFrame({"visit_date": [D(2025, 1, 31), D(2025, 1, 31), D(2025, 2, 1)],
                          "page_path": ["/a", "/b", "/a"], "page_views": [10, 5, 7], "sessions": [8, 4, 6],
                          "users": [7, 4, 5]})
    kpis = local_offer_kpis(frame)
    assert pick(kpis, "visits", D(2025, 1, 1))["value"] == 12
    assert pick(kpis, "page_views", D(2025, 2, 1))["value"] == 7


def test_training_completions_month_and_year_to_date():
    frame = pl.DataFrame({
        "staff_key": ["s1", "s1", "s1", "s2", "s1"], "course": ["A", "A", "B", "A", "A"],
        "completed_date": [D(2024, 8, 31), D(2024, 9, 1), D(2024, 9, 1), D(2024, 10, 5), D(2024, 9, 1)],
    })  # the last row repeats the second: one completion
    kpis = training_kpis(frame)
    assert pick(kpis, "completions", D(2024, 9, 1))["value"] == 2
    assert pick(kpis, "completions", D(2024, 10, 1), "academic_year_to_date")["value"] == 3
    assert pick(kpis, "staff_trained", D(2024, 10, 1), "academic_year_to_date")["value"] == 2
    assert pick(kpis, "staff_trained", D(2024, 9, 1))["value"] == 1
    assert pick(kpis, "completions", D(2024, 8, 1), "academic_year_to_date")["value"] == 1


def test_post16_kpis():
    month = D(2025, 3, 1)
    rows = [
        ("ehcp", 16, "neet"), ("ehcp", 17, "not_known"), ("ehcp", 17, "education"), ("ehcp", 16, "employment"),
        ("ehcp", 19, "neet"),  # academic age 19: not in P1
        ("sen_support", 16, "supported_internship"), ("sen_support", 17, "apprenticeship"),
        ("sen_support", 17, "volunteering"), ("none", 16, "employment"),
    ]
    frame = pl.DataFrame([{"month": month, "send_status": s, "academic_age": a, "activity": act,
                           "social_care_activity": None, "living_arrangement": None, "annual_health_check": True}
                          for s, a, act in rows], schema_overrides={"social_care_activity": pl.Boolean,
                                                                     "living_arrangement": pl.String})
    kpis = post16_kpis(frame)
    p1 = pick(kpis, "pct_neet_or_not_known_ehcp", month)
    assert (p1["numerator"], p1["denominator"], p1["value"]) == (2, 4, 50.0)
    p2 = pick(kpis, "pct_employment_of_eet", month)  # EET with SEND: education, employment, internship, apprenticeship
    assert (p2["numerator"], p2["denominator"]) == (2, 4)
    assert pick(kpis, "pct_supported_internship_of_eet", month)["value"] == 25.0
    assert pick(kpis, "employment_based_learning", month)["value"] == 2
    assert pick(kpis, "volunteering", month)["value"] == 1
    assert pick(kpis, "continuing_study", month)["value"] == 1
    assert pick(kpis, "annual_health_check", month)["value"] == 8  # SEND only
    assert kpis.filter(pl.col("kpi_id").is_in(["P8", "P9"])).is_empty()  # columns not supplied


def test_all_kpis_share_one_layout(tmp_path):
    kpis = local_kpis({"local_ehcp_casework": casework(request(D(2024, 6, 3), D(2024, 10, 1)))})
    assert kpis.schema == pl.Schema(KPI_SCHEMA)
    assert set(kpis["kpi_id"]) == {"S5", "S6", "S9", "S10", "S11", "S12", "S13", "LEAD20"}
    assert casework_kpis(casework()).is_empty() and local_kpis({}).is_empty()


@pytest.mark.slow
def test_reference_kpis_run_over_the_demo_warehouse(tmp_path, monkeypatch):
    from demo.local import DEMO_PSEUDONYM_KEY, generate_local_extracts
    from pipelines.ingest.loader import connect_warehouse, ingest_paths
    from pipelines.ingest.pseudonymise import PSEUDONYM_KEY_ENV

    monkeypatch.setenv(PSEUDONYM_KEY_ENV, DEMO_PSEUDONYM_KEY)
    generate_local_extracts(tmp_path / "raw", seed=11, months=3)
    con = connect_warehouse(tmp_path / "w.duckdb")
    assert all(r.status == "loaded" for r in ingest_paths(con, [tmp_path / "raw"]))
    kpis = local_kpis_from_warehouse(con)
    latest = kpis.filter(pl.col("month") == D(2025, 6, 1))
    assert {"S5", "S6", "S9", "S10", "S13", "LEAD20", "E7", "E10", "L1", "L2", "P1", "P10"} <= set(latest["kpi_id"])
    percent = kpis.filter(pl.col("unit") == "percent")
    assert percent.filter(pl.col("value") > 100).is_empty()
    s6 = pick(kpis, "active_plans", D(2025, 6, 1), "month_end")["value"]
    assert 1_000 < s6 < 10_000
