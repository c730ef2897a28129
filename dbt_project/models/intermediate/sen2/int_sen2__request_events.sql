-- The latest SEN2 return's casework flows as dated events, one statement of DfE's definitions for
-- both the calendar years (int_sen2__annual_kpis) and the months (int_sen2__monthly_kpis), with the
-- measures of seeds/local_kpi_measures.csv: requests received and requests with mediation / a tribunal
-- appeal on the date received; new plans, and those within 20 weeks (all, and without the plans where
-- a Week20 exception applies), on the plan's start date. A rate's event carries denominator 1.
{{ config(materialized='view') }}

with requests as (

    select * from {{ ref('int_sen2__requests') }}

)

select
    'requests_received' as measure,
    received_date as event_date,
    1 as numerator,
    cast(null as integer) as denominator
from requests
where is_request
union all
select
    'new_plans_issued' as measure,
    plan_start_date as event_date,
    1 as numerator,
    null as denominator
from requests
where is_new_plan
union all
select
    'pct_within_20_weeks_incl_exceptions' as measure,
    plan_start_date as event_date,
    case when is_within_20_weeks then 1 else 0 end as numerator,
    1 as denominator
from requests
where is_new_plan
union all
select
    'pct_within_20_weeks_excl_exceptions' as measure,
    plan_start_date as event_date,
    case when is_within_20_weeks then 1 else 0 end as numerator,
    1 as denominator
from requests
where is_new_plan and not is_exception
union all
select
    'mediation_cases' as measure,
    received_date as event_date,
    1 as numerator,
    null as denominator
from requests
where is_request and is_mediation
union all
select
    'tribunal_appeals' as measure,
    received_date as event_date,
    1 as numerator,
    null as denominator
from requests
where is_request and is_tribunal
