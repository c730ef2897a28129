"""Monthly KPIs from the local extracts in polars: a test-only oracle for the dbt models (the warehouse
computes them in dbt; this states the rules of docs/local-extracts.md independently).

It works over the pseudonymised raw frames (raw.local_*), with tests for every branch, so the dbt
models can be checked against it row for row. Every function returns the long KPI layout:

| column | meaning |
|---|---|
| kpi_id | catalogue id (S5, S6, ..., P10) or LEAD20 for the 20-week leading indicator |
| measure | what is counted (e.g. pct_within_20_weeks_excl_exceptions) |
| month | first day of the reporting month |
| period_type | month, rolling_12_months, academic_year_to_date, month_end or as_at |
| period_start, period_end | the window counted (period_end is cut at the extract date in its month) |
| numerator, denominator | counts behind a percentage (numerator alone for a count) |
| value | the count, or 100 * numerator / denominator rounded to 1 dp (half away from zero) |
| value_status | ok, or missing when a percentage has no denominator |
| unit | count or percent |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import duckdb
import polars as pl

TWENTY_WEEKS_DAYS = 140  # "within 20 weeks" means at most 140 days from request to plan
LEADING_WINDOW_DAYS = 28  # the leading indicator looks 4 weeks ahead
CLOSED_OUTCOMES = ("not_issued", "not_assessed", "withdrawn")
INMSS = ("independent_special", "non_maintained_special")
EET = ("education", "employment", "apprenticeship", "supported_internship", "training")

KPI_SCHEMA: dict[str, pl.DataType] = {
    "kpi_id": pl.String, "measure": pl.String, "month": pl.Date, "period_type": pl.String,
    "period_start": pl.Date, "period_end": pl.Date, "numerator": pl.Int64, "denominator": pl.Int64,
    "value": pl.Float64, "value_status": pl.String, "unit": pl.String,
}


def empty_kpis() -> pl.DataFrame:
    return pl.DataFrame(schema=KPI_SCHEMA)


def month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def add_months(first: dt.date, count: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def academic_year_start(day: dt.date) -> dt.date:
    return dt.date(day.year - (day.month < 9), 9, 1)


def reporting_months(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every month from `first`'s month to `last`'s month."""
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def month_frame(months: Iterable[dt.date], as_of: dt.date | None = None) -> pl.DataFrame:
    """One row per month: month, month_end and ref (the month end, cut at `as_of` in as_of's month)."""
    rows = []
    for first in sorted(set(months)):
        end = month_end(first)
        rows.append({"month": first, "month_end": end, "ref": min(end, as_of) if as_of else end})
    return pl.DataFrame(rows, schema={"month": pl.Date, "month_end": pl.Date, "ref": pl.Date})


def _percent(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then((100 * numerator / denominator).round(1, mode="half_away_from_zero"))


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill value and value_status from numerator/denominator and order the columns."""
    is_percent = pl.col("unit") == "percent"
    out = frame.with_columns(
        pl.when(is_percent).then(_percent(pl.col("numerator"), pl.col("denominator")))
        .otherwise(pl.col("numerator").cast(pl.Float64)).alias("value"),
    ).with_columns(
        pl.when(pl.col("value").is_null()).then(pl.lit("missing")).otherwise(pl.lit("ok")).alias("value_status"),
    )
    return out.select([pl.col(c).cast(t) for c, t in KPI_SCHEMA.items()])


def _measure_rows(counts: pl.DataFrame, kpi_id: str, measure: str, period_type: str, numerator: str,
                  denominator: str | None = None) -> pl.DataFrame:
    """KPI rows from a frame with month, period_start, period_end and count columns."""
    return counts.select(
        pl.lit(kpi_id).alias("kpi_id"), pl.lit(measure).alias("measure"), "month",
        pl.lit(period_type).alias("period_type"), "period_start", "period_end",
        pl.col(numerator).cast(pl.Int64).alias("numerator"),
        (pl.col(denominator).cast(pl.Int64) if denominator else pl.lit(None, pl.Int64)).alias("denominator"),
        pl.lit("percent" if denominator else "count").alias("unit"),
    )


def _monthly_and_rolling(events: pl.DataFrame, date_column: str, months: pl.DataFrame,
                         counts: Mapping[str, pl.Expr], first_month: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts per calendar month of `date_column` and over the rolling 12 months ending in each month.

    Rolling rows are kept only where all 12 months lie within the data (from `first_month`).
    """
    per_month = (
        events.filter(pl.col(date_column).is_not_null())
        .group_by(pl.col(date_column).dt.truncate("1mo").alias("month"))
        .agg(**counts)
    )
    monthly = months.join(per_month, on="month", how="left").with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts]
    ).sort("month")
    month_rows = monthly.with_columns(pl.col("month").alias("period_start"), pl.col("ref").alias("period_end"))
    rolling = monthly.with_columns(
        *[pl.col(c).rolling_sum(window_size=12, min_samples=12) for c in counts],
        pl.col("month").dt.offset_by("-11mo").alias("period_start"), pl.col("ref").alias("period_end"),
    ).filter(pl.col("period_start") >= first_month)
    # the month list must be contiguous for a 12-row window to be 12 months
    return month_rows, rolling.drop_nulls(list(counts))


# ---------------------------------------------------------------------------------------------
# Casework: S5, S6, S9-S13 and the leading indicator


def latest_snapshot(casework: pl.DataFrame) -> pl.DataFrame:
    """The rows of the most recent extract (each casework extract is a full snapshot)."""
    return casework.filter(pl.col("extract_date") == pl.col("extract_date").max())


def casework_months(casework: pl.DataFrame) -> list[dt.date]:
    latest = latest_snapshot(casework)
    return reporting_months(latest["request_received_date"].min(), latest["extract_date"].max())


def twenty_week_kpis(casework: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """S5: share of new plans issued within 20 weeks (<= 140 days), excluding and including exceptions.

    A new plan counts in the month of its plan issue date. Excluding exceptions leaves plans with
    a recorded 20-week exception out of both numerator and denominator. Requests not (yet) issued,
    refused, not issued or withdrawn are not plans and are not counted.
    """
    latest = latest_snapshot(casework)
    extract_date = latest["extract_date"].max()
    months = months or casework_months(casework)
    frame = month_frame(months, extract_date)
    plans = latest.filter(pl.col("plan_issue_date").is_not_null()).with_columns(
        ((pl.col("plan_issue_date") - pl.col("request_received_date")).dt.total_days() <= TWENTY_WEEKS_DAYS)
        .alias("within"),
        pl.col("exception_flag").fill_null(False).alias("exception"),
    )
    counts = {
        "plans": pl.len(),
        "within": pl.col("within").sum(),
        "plans_excl": (~pl.col("exception")).sum(),
        "within_excl": (pl.col("within") & ~pl.col("exception")).sum(),
    }
    monthly, rolling = _monthly_and_rolling(plans, "plan_issue_date", frame, counts, min(months))
    parts = []
    for period_type, counted in (("month", monthly), ("rolling_12_months", rolling)):
        parts += [
            _measure_rows(counted, "S5", "pct_within_20_weeks_excl_exceptions", period_type, "within_excl",
                          "plans_excl"),
            _measure_rows(counted, "S5", "pct_within_20_weeks_incl_exceptions", period_type, "within", "plans"),
        ]
    return _finish(pl.concat(parts))


def casework_count_kpis(casework: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """S9 new plans issued, S10 requests received, S11 mediations, S12 tribunal appeals: per month and rolling 12."""
    latest = latest_snapshot(casework)
    extract_date = latest["extract_date"].max()
    months = months or casework_months(casework)
    frame = month_frame(months, extract_date)
    parts = []
    for kpi_id, measure, column in (
        ("S9", "new_plans_issued", "plan_issue_date"),
        ("S10", "requests_received", "request_received_date"),
        ("S11", "mediation_cases", "mediation_date"),
        ("S12", "tribunal_appeals", "tribunal_date"),
    ):
        monthly, rolling = _monthly_and_rolling(latest, column, frame, {"n": pl.len()}, min(months))
        parts += [_measure_rows(monthly, kpi_id, measure, "month", "n"),
                  _measure_rows(rolling, kpi_id, measure, "rolling_12_months", "n")]
    return _finish(pl.concat(parts))


def active_plan_kpis(casework: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """S6: children and young people with an active plan at each month end.

    Active at date R: plan issued on or before R and not ceased on or before R. People, not plans,
    are counted (distinct person_key).
    """
    latest = latest_snapshot(casework)
    extract_date = latest["extract_date"].max()
    frame = month_frame(months or casework_months(casework), extract_date)
    plans = latest.filter(pl.col("plan_issue_date").is_not_null()).select(
        "person_key", "plan_issue_date",
        pl.col("plan_ceased_date").fill_null(dt.date(9999, 12, 31)).alias("ceased"))
    active = plans.join_where(frame, pl.col("plan_issue_date") <= pl.col("ref"), pl.col("ceased") > pl.col("ref"))
    counts = active.group_by("month").agg(pl.col("person_key").n_unique().alias("n"))
    rows = frame.join(counts, on="month", how="left").with_columns(
        pl.col("n").fill_null(0).cast(pl.Int64), pl.col("ref").alias("period_start"), pl.col("ref").alias("period_end"))
    return _finish(_measure_rows(rows, "S6", "active_plans", "month_end", "n"))


def closed_date(casework: pl.DataFrame) -> pl.Expr:
    """When a request stopped being open: plan issued, outcome reached, or refused to assess.

    A request closed without any date (e.g. 'withdrawn', no date) counts as never open.
    """
    outcome = pl.col("assessment_outcome")
    return (
        pl.when(pl.col("plan_issue_date").is_not_null()).then(pl.col("plan_issue_date"))
        .when(outcome == "not_assessed").then(
            pl.coalesce(pl.col("decision_to_assess_date"), pl.col("assessment_outcome_date"),
                        pl.col("request_received_date")))
        .when(outcome.is_in(CLOSED_OUTCOMES)).then(
            pl.coalesce(pl.col("assessment_outcome_date"), pl.col("request_received_date")))
        .otherwise(None)
    )


def leading_indicator_kpis(casework: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """LEAD20: open requests at each month end already past 20 weeks, and those passing it within 4 weeks.

    Open at R: received on or before R and not closed on or before R. Elapsed days = R - received.
    Past 20 weeks: elapsed > 140. Passing within 4 weeks: 113 <= elapsed <= 140 (day 141 falls in the
    next 28 days). Also the count of open requests.
    """
    latest = latest_snapshot(casework)
    extract_date = latest["extract_date"].max()
    frame = month_frame(months or casework_months(casework), extract_date)
    requests = latest.select("request_received_date",
                             closed_date(latest).fill_null(dt.date(9999, 12, 31)).alias("closed"))
    open_at = requests.join_where(frame, pl.col("request_received_date") <= pl.col("ref"),
                                  pl.col("closed") > pl.col("ref")).with_columns(
        (pl.col("ref") - pl.col("request_received_date")).dt.total_days().alias("elapsed"))
    counts = open_at.group_by("month").agg(
        pl.len().alias("open"),
        (pl.col("elapsed") > TWENTY_WEEKS_DAYS).sum().alias("past"),
        pl.col("elapsed").is_between(TWENTY_WEEKS_DAYS - LEADING_WINDOW_DAYS + 1, TWENTY_WEEKS_DAYS).sum()
        .alias("passing"),
    )
    rows = frame.join(counts, on="month", how="left").with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in ("open", "past", "passing")],
        pl.col("ref").alias("period_start"), pl.col("ref").alias("period_end"))
    return _finish(pl.concat([
        _measure_rows(rows, "LEAD20", "open_requests", "month_end", "open"),
        _measure_rows(rows, "LEAD20", "open_past_20_weeks", "month_end", "past"),
        _measure_rows(rows, "LEAD20", "open_passing_20_weeks_within_4_weeks", "month_end", "passing"),
    ]))


def placement_kpis(casework: pl.DataFrame) -> pl.DataFrame:
    """S13: active plans placed in independent or non-maintained special schools, as at each extract date.

    Placement is the current placement, so each snapshot gives one value (for its extract date):
    out of borough (the KPI) and in any location.
    """
    active = casework.filter(
        pl.col("plan_issue_date").is_not_null() & (pl.col("plan_issue_date") <= pl.col("extract_date"))
        & (pl.col("plan_ceased_date").is_null() | (pl.col("plan_ceased_date") > pl.col("extract_date"))))
    inmss = pl.col("placement_type").is_in(INMSS)
    counts = active.group_by("extract_date").agg(
        (inmss & (pl.col("placement_location") == "out_of_borough")).sum().alias("out_of_borough"),
        inmss.sum().alias("all_locations"),
    )
    snapshots = casework.select("extract_date").unique().join(counts, on="extract_date", how="left").with_columns(
        pl.col("out_of_borough", "all_locations").fill_null(0).cast(pl.Int64),
        pl.col("extract_date").dt.truncate("1mo").alias("month"),
        pl.col("extract_date").alias("period_start"), pl.col("extract_date").alias("period_end"))
    return _finish(pl.concat([
        _measure_rows(snapshots, "S13", "inmss_placements_out_of_borough", "as_at", "out_of_borough"),
        _measure_rows(snapshots, "S13", "inmss_placements_all", "as_at", "all_locations"),
    ]))


def casework_kpis(casework: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """Every casework KPI: S5, S6, S9, S10, S11, S12, S13 and LEAD20."""
    if casework.is_empty():
        return empty_kpis()
    months = months or casework_months(casework)
    return pl.concat([
        twenty_week_kpis(casework, months), active_plan_kpis(casework, months),
        casework_count_kpis(casework, months), leading_indicator_kpis(casework, months), placement_kpis(casework),
    ])


# ---------------------------------------------------------------------------------------------
# Exclusions (E7-E10), Local Offer (L1), training (L2)


def _month_and_year_to_date(events: pl.DataFrame, counts: Mapping[str, pl.Expr],
                            months: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Counts per month, and from 1 September of the academic year to the end of each month."""
    frame = month_frame(months)
    per_month = events.group_by("month").agg(**counts)
    monthly = frame.join(per_month, on="month", how="left").with_columns(
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts]).sort("month").with_columns(
        pl.col("month").alias("period_start"), pl.col("ref").alias("period_end"))
    year_start = pl.date(pl.col("month").dt.year() - (pl.col("month").dt.month() < 9).cast(pl.Int32), 9, 1)
    to_date = monthly.with_columns(year_start.alias("period_start")).with_columns(
        *[pl.col(c).cum_sum().over("period_start", order_by="month") for c in counts])
    return monthly, to_date


def exclusion_kpis(exclusions: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """E7-E10: suspensions and permanent exclusions involving pupils with an EHC plan or SEN support.

    Each row of the log is one exclusion. Count, and percentage of all exclusions of that type, per
    month (of the exclusion date) and academic year to date.
    """
    if exclusions.is_empty():
        return empty_kpis()
    months = months or reporting_months(exclusions["exclusion_date"].min(), exclusions["exclusion_date"].max())
    events = exclusions.with_columns(pl.col("exclusion_date").dt.truncate("1mo").alias("month"))
    suspension, permanent = pl.col("exclusion_type") == "suspension", pl.col("exclusion_type") == "permanent"
    ehcp, support = pl.col("sen_provision") == "ehc_plan", pl.col("sen_provision") == "sen_support"
    counts = {
        "susp": suspension.sum(), "susp_ehcp": (suspension & ehcp).sum(), "susp_support": (suspension & support).sum(),
        "perm": permanent.sum(), "perm_ehcp": (permanent & ehcp).sum(), "perm_support": (permanent & support).sum(),
    }
    monthly, to_date = _month_and_year_to_date(events, counts, months)
    parts = []
    for period_type, counted in (("month", monthly), ("academic_year_to_date", to_date)):
        for kpi_id, numerator, denominator, measure in (
            ("E7", "susp_ehcp", "susp", "suspensions"), ("E8", "susp_support", "susp", "suspensions"),
            ("E9", "perm_ehcp", "perm", "permanent_exclusions"), ("E10", "perm_support", "perm", "permanent_exclusions"),
        ):
            parts += [_measure_rows(counted, kpi_id, measure, period_type, numerator),
                      _measure_rows(counted, kpi_id, f"pct_of_all_{measure}", period_type, numerator, denominator)]
    return _finish(pl.concat(parts))


def local_offer_kpis(visits: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """L1: visits (sessions) to the Local Offer per month; page views and summed daily users beside it."""
    if visits.is_empty():
        return empty_kpis()
    months = months or reporting_months(visits["visit_date"].min(), visits["visit_date"].max())
    events = visits.with_columns(pl.col("visit_date").dt.truncate("1mo").alias("month"))
    counts = {"visits": pl.col("sessions").sum(), "views": pl.col("page_views").sum(), "users": pl.col("users").sum()}
    monthly, _ = _month_and_year_to_date(events, counts, months)
    return _finish(pl.concat([
        _measure_rows(monthly, "L1", "visits", "month", "visits"),
        _measure_rows(monthly, "L1", "page_views", "month", "views"),
        _measure_rows(monthly, "L1", "users_summed_daily", "month", "users"),
    ]))


def training_kpis(training: pl.DataFrame, months: list[dt.date] | None = None) -> pl.DataFrame:
    """L2: course completions (distinct staff, course and date) and distinct staff trained; month and year to date."""
    if training.is_empty():
        return empty_kpis()
    months = months or reporting_months(training["completed_date"].min(), training["completed_date"].max())
    completions = training.filter(pl.col("completed_date").is_not_null()).unique(
        ["staff_key", "course", "completed_date"]).with_columns(
        pl.col("completed_date").dt.truncate("1mo").alias("month"))
    monthly, to_date = _month_and_year_to_date(completions, {"n": pl.len()}, months)
    frame = month_frame(months)
    year_start = pl.date(pl.col("month").dt.year() - (pl.col("month").dt.month() < 9).cast(pl.Int32), 9, 1)
    staff_month = frame.join(completions.group_by("month").agg(pl.col("staff_key").n_unique().alias("staff")),
                             on="month", how="left").with_columns(
        pl.col("staff").fill_null(0).cast(pl.Int64), pl.col("month").alias("period_start"),
        pl.col("ref").alias("period_end"))
    staff_to_date = frame.with_columns(year_start.alias("period_start"), pl.col("ref").alias("period_end")).join_where(
        completions.select("staff_key", "completed_date"),
        pl.col("completed_date") >= pl.col("period_start"), pl.col("completed_date") <= pl.col("period_end"),
    ).group_by("month", "period_start", "period_end").agg(pl.col("staff_key").n_unique().alias("staff"))
    staff_to_date = frame.join(staff_to_date, on="month", how="left").with_columns(
        pl.col("staff").fill_null(0).cast(pl.Int64), year_start.alias("period_start"),
        pl.col("ref").alias("period_end"))
    return _finish(pl.concat([
        _measure_rows(monthly, "L2", "completions", "month", "n"),
        _measure_rows(to_date, "L2", "completions", "academic_year_to_date", "n"),
        _measure_rows(staff_month, "L2", "staff_trained", "month", "staff"),
        _measure_rows(staff_to_date, "L2", "staff_trained", "academic_year_to_date", "staff"),
    ]))


# ---------------------------------------------------------------------------------------------
# Post-16 tracking (P1-P10)


def post16_kpis(post16: pl.DataFrame) -> pl.DataFrame:
    """P1-P10 from each month's caseload (one row per young person and month).

    P1 is the share NEET or not known among academic age 16-17 with an EHC plan (and, as a second
    measure, with SEN support). P2-P10 cover young people with SEND (EHC plan or SEN support) of any
    age in the caseload; P2 and P3 are shares of those in education, employment or training (EET).
    P8-P10 need the optional columns; a month without them has no rows for those KPIs.
    """
    if post16.is_empty():
        return empty_kpis()
    activity, status = pl.col("activity"), pl.col("send_status")
    aged_16_17 = pl.col("academic_age").is_between(16, 17)
    send = status.is_in(["ehcp", "sen_support"])
    in_eet = send & activity.is_in(EET)
    counts = post16.group_by("month").agg(
        (aged_16_17 & (status == "ehcp")).sum().alias("cohort_ehcp"),
        (aged_16_17 & (status == "ehcp") & activity.is_in(["neet", "not_known"])).sum().alias("nk_ehcp"),
        (aged_16_17 & (status == "sen_support")).sum().alias("cohort_support"),
        (aged_16_17 & (status == "sen_support") & activity.is_in(["neet", "not_known"])).sum().alias("nk_support"),
        in_eet.sum().alias("eet"),
        (send & activity.is_in(["employment", "apprenticeship"])).sum().alias("employed"),
        (send & (activity == "supported_internship")).sum().alias("internship"),
        (send & activity.is_in(["apprenticeship", "supported_internship", "training"])).sum().alias("work_learning"),
        (send & (activity == "employment")).sum().alias("employment"),
        (send & (activity == "volunteering")).sum().alias("volunteering"),
        (send & (activity == "education")).sum().alias("study"),
        (send & pl.col("social_care_activity").fill_null(False)).sum().alias("social_care"),
        pl.col("social_care_activity").is_not_null().any().alias("has_social_care"),
        (send & pl.col("living_arrangement").is_in(["supported_living", "independent_living"])).sum().alias("living"),
        pl.col("living_arrangement").is_not_null().any().alias("has_living"),
        (send & pl.col("annual_health_check").fill_null(False)).sum().alias("health_check"),
        pl.col("annual_health_check").is_not_null().any().alias("has_health_check"),
    ).sort("month").with_columns(pl.col("month").alias("period_start"),
                                 pl.col("month").dt.month_end().alias("period_end"))
    parts = [
        _measure_rows(counts, "P1", "pct_neet_or_not_known_ehcp", "month", "nk_ehcp", "cohort_ehcp"),
        _measure_rows(counts, "P1", "pct_neet_or_not_known_sen_support", "month", "nk_support", "cohort_support"),
        _measure_rows(counts, "P2", "pct_employment_of_eet", "month", "employed", "eet"),
        _measure_rows(counts, "P3", "pct_supported_internship_of_eet", "month", "internship", "eet"),
        _measure_rows(counts, "P4", "employment_based_learning", "month", "work_learning"),
        _measure_rows(counts, "P5", "other_employment", "month", "employment"),
        _measure_rows(counts, "P6", "volunteering", "month", "volunteering"),
        _measure_rows(counts, "P7", "continuing_study", "month", "study"),
        _measure_rows(counts.filter("has_social_care"), "P8", "social_care_activities", "month", "social_care"),
        _measure_rows(counts.filter("has_living"), "P9", "supported_or_independent_living", "month", "living"),
        _measure_rows(counts.filter("has_health_check"), "P10", "annual_health_check", "month", "health_check"),
    ]
    return _finish(pl.concat(parts))


# ---------------------------------------------------------------------------------------------


def local_kpis(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """All local KPIs from the raw frames keyed by raw table name (missing tables give no rows)."""
    computed = [
        casework_kpis(frames["local_ehcp_casework"]) if "local_ehcp_casework" in frames else empty_kpis(),
        exclusion_kpis(frames["local_exclusions"]) if "local_exclusions" in frames else empty_kpis(),
        local_offer_kpis(frames["local_offer_visits"]) if "local_offer_visits" in frames else empty_kpis(),
        training_kpis(frames["local_training"]) if "local_training" in frames else empty_kpis(),
        post16_kpis(frames["local_post16_tracking"]) if "local_post16_tracking" in frames else empty_kpis(),
    ]
    return pl.concat(computed).sort("kpi_id", "measure", "period_type", "month")


LOCAL_TABLES = ("local_ehcp_casework", "local_exclusions", "local_offer_visits", "local_training",
                "local_post16_tracking")


def local_kpis_from_warehouse(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """local_kpis over the raw.local_* tables present in a warehouse connection."""
    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    frames = {t: con.sql(f"select * from raw.{t}").pl() for t in LOCAL_TABLES if t in present}
    return local_kpis(frames)
