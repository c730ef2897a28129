-- Casework stocks (docs/local-extracts.md section 6):
-- - S6 active plans at each month end R (R = period_end of the month, cut at the extract date):
--   distinct people with a plan issued on or before R and not ceased on or before R;
-- - LEAD20 open requests at R (received on or before R, not closed on or before R), those already
--   past 20 weeks (R - received > 140 days) and those passing 20 weeks within 4 weeks
--   (113 <= R - received <= 140);
-- - S13 active plans in independent or non-maintained special schools as at each extract date
--   (every snapshot, as placement is the current one), out of borough and in any location.
with months as (

    select * from {{ ref('int_local__casework_months') }}

),

requests as (

    select * from {{ ref('int_local__casework_requests') }}

),

active_plans as (

    select
        months.month,
        count(distinct requests.person_key) as n
    from months
    inner join requests
        on
            months.ref >= requests.plan_issue_date
            and coalesce(requests.plan_ceased_date, date '9999-12-31') > months.ref
    group by months.month

),

open_requests as (

    select
        months.month,
        count(*) as n_open,
        count(*) filter (
            where {{ days_between('requests.request_received_date', 'months.ref') }} > {{ var('twenty_weeks_days') }}
        ) as n_past,
        count(*) filter (
            where
            {{ days_between('requests.request_received_date', 'months.ref') }}
            between {{ var('twenty_weeks_days') - var('leading_window_days') + 1 }}
            and {{ var('twenty_weeks_days') }}
        ) as n_passing
    from months
    inner join requests
        on
            months.ref >= requests.request_received_date
            and coalesce(requests.closed_date, date '9999-12-31') > months.ref
    group by months.month

),

month_end_counts as (

    select
        months.month,
        months.ref,
        coalesce(active_plans.n, 0) as n_active,
        coalesce(open_requests.n_open, 0) as n_open,
        coalesce(open_requests.n_past, 0) as n_past,
        coalesce(open_requests.n_passing, 0) as n_passing
    from months
    left join active_plans on months.month = active_plans.month
    left join open_requests on months.month = open_requests.month

),

snapshots as (

    select
        extract_date,
        count(*) filter (
            where
            plan_issue_date <= extract_date
            and (plan_ceased_date is null or plan_ceased_date > extract_date)
            and placement_type in ('independent_special', 'non_maintained_special')
            and placement_location = 'out_of_borough'
        ) as n_out_of_borough,
        count(*) filter (
            where
            plan_issue_date <= extract_date
            and (plan_ceased_date is null or plan_ceased_date > extract_date)
            and placement_type in ('independent_special', 'non_maintained_special')
        ) as n_all
    from {{ ref('stg_local__ehcp_casework') }}
    group by extract_date

),

stocks as (

    select
        'S6' as kpi_id,
        'active_plans' as measure,
        'month_end' as period_type,
        month,
        ref,
        n_active as n
    from month_end_counts
    union all
    select
        'LEAD20' as kpi_id,
        'open_requests' as measure,
        'month_end' as period_type,
        month,
        ref,
        n_open as n
    from month_end_counts
    union all
    select
        'LEAD20' as kpi_id,
        'open_past_20_weeks' as measure,
        'month_end' as period_type,
        month,
        ref,
        n_past as n
    from month_end_counts
    union all
    select
        'LEAD20' as kpi_id,
        'open_passing_20_weeks_within_4_weeks' as measure,
        'month_end' as period_type,
        month,
        ref,
        n_passing as n
    from month_end_counts
    union all
    select
        'S13' as kpi_id,
        'inmss_placements_out_of_borough' as measure,
        'as_at' as period_type,
        {{ month_start('extract_date') }} as month,
        extract_date as ref,
        n_out_of_borough as n
    from snapshots
    union all
    select
        'S13' as kpi_id,
        'inmss_placements_all' as measure,
        'as_at' as period_type,
        {{ month_start('extract_date') }} as month,
        extract_date as ref,
        n_all as n
    from snapshots

)

select
    kpi_id,
    measure,
    'count' as unit,
    month,
    period_type,
    ref as period_start,
    ref as period_end,
    cast(n as bigint) as numerator,
    cast(null as bigint) as denominator
from stocks
