-- The requests of the latest casework snapshot (each extract is a full list of requests), with
-- what the 20-week rule and the leading indicator need (docs/local-extracts.md section 6):
-- - is_plan: a plan was issued (requests not yet issued, not assessed, not issued or withdrawn are not plans);
-- - days_to_plan and is_within_20_weeks: plan issue date - request received date <= 140 days
--   (exactly 140 is within, 141 is not);
-- - is_exception: a recorded 20-week exception (a NULL flag is no exception);
-- - closed_date: plan issue date; for not_assessed the decision or outcome date; for not_issued or
--   withdrawn the outcome date; a closed request without a date closes on the day it was received;
--   NULL while ongoing.
with latest as (

    select casework.*
    from {{ ref('stg_local__ehcp_casework') }} as casework
    where casework.extract_date = (
        select max(snapshots.extract_date) from {{ ref('stg_local__ehcp_casework') }} as snapshots
    )

)

select
    extract_date,
    request_key,
    person_key,
    request_received_date,
    assessment_outcome,
    plan_issue_date,
    plan_ceased_date,
    mediation_date,
    tribunal_date,
    plan_issue_date is not null as is_plan,
    {{ days_between('request_received_date', 'plan_issue_date') }} as days_to_plan,
    {{ days_between('request_received_date', 'plan_issue_date') }}
    <= {{ var('twenty_weeks_days') }} as is_within_20_weeks,
    coalesce(exception_flag, false) as is_exception,
    case
        when plan_issue_date is not null then plan_issue_date
        when assessment_outcome = 'not_assessed'
            then coalesce(decision_to_assess_date, assessment_outcome_date, request_received_date)
        when assessment_outcome in ('not_issued', 'withdrawn')
            then coalesce(assessment_outcome_date, request_received_date)
    end as closed_date
from latest
