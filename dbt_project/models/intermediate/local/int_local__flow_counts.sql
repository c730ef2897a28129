-- Monthly counts of the casework flows (docs/local-extracts.md section 6), one row per measure and
-- casework month (0 where nothing happened): S5 plans within 20 weeks over plans issued (excluding
-- and including exceptions), S9 new plans issued, S10 requests received, S11 mediations, S12
-- tribunal appeals, each counted in the month of its date. int_local__flow_kpis adds the rolling
-- 12 months.
with requests as (

    select * from {{ ref('int_local__casework_requests') }}

),

measures as (

    -- the casework flows of seeds/local_kpi_measures.csv
    select
        measures.local_kpi_id as kpi_id,
        measures.measure,
        measures.unit
    from {{ ref('local_kpi_measures') }} as measures
    where measures.is_casework_flow

),

events as (

    select
        'pct_within_20_weeks_excl_exceptions' as measure,
        plan_issue_date as event_date,
        case when is_within_20_weeks then 1 else 0 end as numerator,
        1 as denominator
    from requests
    where is_plan and not is_exception
    union all
    select
        'pct_within_20_weeks_incl_exceptions' as measure,
        plan_issue_date as event_date,
        case when is_within_20_weeks then 1 else 0 end as numerator,
        1 as denominator
    from requests
    where is_plan
    union all
    select
        'new_plans_issued' as measure,
        plan_issue_date as event_date,
        1 as numerator,
        null as denominator
    from requests
    union all
    select
        'requests_received' as measure,
        request_received_date as event_date,
        1 as numerator,
        null as denominator
    from requests
    union all
    select
        'mediation_cases' as measure,
        mediation_date as event_date,
        1 as numerator,
        null as denominator
    from requests
    union all
    select
        'tribunal_appeals' as measure,
        tribunal_date as event_date,
        1 as numerator,
        null as denominator
    from requests

),

per_month as (

    select
        measure,
        {{ month_start('event_date') }} as month,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from events
    where event_date is not null
    group by measure, {{ month_start('event_date') }}

)

select
    measures.kpi_id,
    measures.measure,
    measures.unit,
    months.month,
    months.ref,
    cast(coalesce(per_month.numerator, 0) as bigint) as numerator,
    case when measures.unit = 'percent' then cast(coalesce(per_month.denominator, 0) as bigint) end
        as denominator
from measures
cross join {{ ref('int_local__casework_months') }} as months
left join per_month
    on
        measures.measure = per_month.measure
        and months.month = per_month.month
