-- Monthly and rolling-12-month figures from the latest SEN2 return, with the definitions of
-- int_sen2__annual_kpis (so a rolling 12 months ending in December is that calendar year's figure):
-- S10 requests received, S9 new plans, S5_inc / S5 plans within 20 weeks (including / excluding
-- Week20 exceptions), S11 / S12 requests with mediation / a tribunal appeal, each in the month of
-- its date; S6 people with a plan at each month end. Months run from the first request to the month
-- of the return's extract date (the last one cut at the extract date); a rolling window is given
-- only when all 12 of its months are covered.
with requests as (

    select * from {{ ref('int_sen2__requests') }}

),

bounds as (

    select
        min(received_date) as first_date,
        max(extract_date) as extract_date
    from requests

),

months as (

    select
        cast(
            cast(census.census_year as {{ dbt.type_string() }}) || '-'
            || case when numbers.month_number < 10 then '0' else '' end
            || cast(numbers.month_number as {{ dbt.type_string() }}) || '-01'
            as date
        ) as month,
        bounds.first_date,
        bounds.extract_date
    from {{ ref('sen2_census_dates') }} as census
    cross join (
        values (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12)
    ) as numbers (month_number)
    cross join bounds

),

calendar as (

    select
        month,
        least({{ dbt.last_day('month', 'month') }}, extract_date) as ref
    from months
    where
        month >= {{ month_start('first_date') }}
        and month <= extract_date

),

measures as (

    -- the casework flows of seeds/local_kpi_measures.csv
    select
        measures.kpi_id,
        measures.measure,
        measures.unit
    from {{ ref('local_kpi_measures') }} as measures
    where measures.is_casework_flow

),

per_month as (

    select
        measure,
        {{ month_start('event_date') }} as month,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from {{ ref('int_sen2__request_events') }}
    group by measure, {{ month_start('event_date') }}

),

monthly as (

    select
        measures.kpi_id,
        measures.measure,
        calendar.month,
        calendar.ref,
        coalesce(per_month.numerator, 0) as numerator,
        case when measures.unit = 'percent' then coalesce(per_month.denominator, 0) end as denominator
    from measures
    cross join calendar
    left join per_month
        on
            measures.measure = per_month.measure
            and calendar.month = cast(per_month.month as date)

),

active as (

    select
        calendar.month,
        calendar.ref,
        count(distinct requests.person_key) as active_plans
    from calendar
    left join requests
        on
            requests.has_plan
            and calendar.ref >= requests.plan_start_date
            and (requests.plan_cease_date is null or calendar.ref < requests.plan_cease_date)
    group by calendar.month, calendar.ref

),

all_rows as (

    {{ month_and_rolling_12_months('monthly', ['kpi_id', 'measure']) }}
    union all
    select
        'S6' as kpi_id,
        'active_plans' as measure,
        month,
        'month_end' as period_type,
        ref as period_start,
        ref as period_end,
        active_plans as numerator,
        null as denominator
    from active

)

select
    kpi_id,
    measure,
    case when denominator is null then 'count' else 'percent' end as unit,
    cast(month as date) as month,
    period_type,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(numerator as bigint) as numerator,
    cast(denominator as bigint) as denominator,
    case
        when denominator is null then cast(numerator as {{ type_double() }})
        when denominator > 0 then {{ round_to('100.0 * numerator / denominator', 1) }}
    end as value
from all_rows
