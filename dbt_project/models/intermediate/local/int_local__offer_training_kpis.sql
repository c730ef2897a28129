-- L1 and L2 (docs/local-extracts.md section 6).
-- L1 from the Local Offer web analytics, per month: visits = sum of sessions (page-sessions with a
-- page-level export: say "page visits" when publishing), page views, and users summed by day (not
-- unique users). L2 from the training records, per month and academic year to date: completions
-- (distinct staff, course and date) and staff trained (distinct staff with a completion).
-- Each source's months run from its first to its last month with data.
with visits as (

    select
        {{ month_start('visit_date') }} as month,
        sessions,
        page_views,
        users
    from {{ ref('stg_local__offer_visits') }}
    where visit_date is not null

),

visit_bounds as (

    select
        min(month) as first_month,
        max(month) as last_month
    from visits

),

visit_months as (

    select {{ month_series('first_month', 'last_month') }} as month
    from visit_bounds
    where first_month is not null

),

visit_totals as (

    select
        visit_months.month,
        coalesce(sum(visits.sessions), 0) as visits,
        coalesce(sum(visits.page_views), 0) as page_views,
        coalesce(sum(visits.users), 0) as users
    from visit_months
    left join visits on visit_months.month = visits.month
    group by visit_months.month

),

completions as (

    select distinct
        staff_key,
        course,
        completed_date,
        {{ month_start('completed_date') }} as month
    from {{ ref('stg_local__training') }}
    where completed_date is not null

),

training_bounds as (

    select
        min(month) as first_month,
        max(month) as last_month
    from completions

),

training_spine as (

    select {{ month_series('first_month', 'last_month') }} as month
    from training_bounds
    where first_month is not null

),

training_months as (

    select
        month,
        month as period_start,
        cast(last_day(month) as date) as period_end,
        make_date(year(month) - case when month(month) < 9 then 1 else 0 end, 9, 1) as year_start
    from training_spine

),

training_month_counts as (

    select
        training_months.month,
        training_months.period_start,
        training_months.period_end,
        training_months.year_start,
        count(completions.staff_key) as n_completions,
        count(distinct completions.staff_key) as n_staff
    from training_months
    left join completions on training_months.month = completions.month
    group by
        training_months.month,
        training_months.period_start,
        training_months.period_end,
        training_months.year_start

),

training_to_date as (

    select
        training_months.month,
        training_months.year_start as period_start,
        training_months.period_end,
        count(completions.staff_key) as n_completions,
        count(distinct completions.staff_key) as n_staff
    from training_months
    left join completions
        on
            training_months.year_start <= completions.completed_date
            and training_months.period_end >= completions.completed_date
    group by
        training_months.month,
        training_months.year_start,
        training_months.period_end

),

kpis as (

    select
        'L1' as kpi_id,
        'visits' as measure,
        'month' as period_type,
        month,
        month as period_start,
        cast(last_day(month) as date) as period_end,
        visits as n
    from visit_totals
    union all
    select
        'L1' as kpi_id,
        'page_views' as measure,
        'month' as period_type,
        month,
        month as period_start,
        cast(last_day(month) as date) as period_end,
        page_views as n
    from visit_totals
    union all
    select
        'L1' as kpi_id,
        'users_summed_daily' as measure,
        'month' as period_type,
        month,
        month as period_start,
        cast(last_day(month) as date) as period_end,
        users as n
    from visit_totals
    union all
    select
        'L2' as kpi_id,
        'completions' as measure,
        'month' as period_type,
        month,
        period_start,
        period_end,
        n_completions as n
    from training_month_counts
    union all
    select
        'L2' as kpi_id,
        'staff_trained' as measure,
        'month' as period_type,
        month,
        period_start,
        period_end,
        n_staff as n
    from training_month_counts
    union all
    select
        'L2' as kpi_id,
        'completions' as measure,
        'academic_year_to_date' as period_type,
        month,
        period_start,
        period_end,
        n_completions as n
    from training_to_date
    union all
    select
        'L2' as kpi_id,
        'staff_trained' as measure,
        'academic_year_to_date' as period_type,
        month,
        period_start,
        period_end,
        n_staff as n
    from training_to_date

)

select
    kpi_id,
    measure,
    'count' as unit,
    month,
    period_type,
    period_start,
    period_end,
    cast(n as bigint) as numerator,
    cast(null as bigint) as denominator
from kpis
