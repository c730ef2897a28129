-- The requests of the latest SEN2 return (each return lists the LA's requests, assessments and plans),
-- with DfE's definitions (SEN2 person level 2023 technical specification v1.1; EHC plans release
-- methodology) as flags:
-- - is_transfer_in: the plan came with the person from another LA (ActivePlans TransferLA, item 5.2):
--   neither a request to this LA nor a new plan of this LA;
-- - is_request: an initial request for an EHC needs assessment received by this LA (module 2);
-- - is_new_plan: a named plan (module 4) with a start date under an assessment whose decision was to
--   issue a plan (item 3.1: Y, or S after another LA's assessment), not transferred in;
-- - days_to_plan / is_within_20_weeks: plan start - request received <= twenty_weeks_days (140);
-- - is_exception: Week20 (item 3.7) - a 20-week exception applies;
-- - is_mediation / is_tribunal: mediation or an appeal on the request, the assessment or other
--   (items 2.6-2.7, 3.4-3.6); SEN2 holds no dates for them, so they count in the year the request
--   was received.
with latest as (

    select max(extract_date) as extract_date
    from {{ ref('stg_sen2__returns') }}

)

select
    requests.extract_date,
    requests.request_key,
    requests.person_key,
    requests.received_date,
    requests.request_outcome,
    requests.request_outcome_date,
    requests.assessment_outcome,
    requests.assessment_outcome_date,
    requests.plan_start_date,
    requests.plan_cease_date,
    requests.plan_cease_reason,
    requests.review_meeting_date,
    requests.last_review_date,
    requests.phase_transfer_due_date,
    requests.phase_transfer_final_date,
    requests.transfer_la is not null as is_transfer_in,
    requests.transfer_la is null and requests.received_date is not null as is_request,
    coalesce(
        requests.has_named_plan
        and requests.plan_start_date is not null
        and requests.assessment_outcome in ('Y', 'S')
        and requests.transfer_la is null,
        false
    ) as is_new_plan,
    {{ dbt.datediff('requests.received_date', 'requests.plan_start_date', 'day') }} as days_to_plan,  -- noqa: LT05
    coalesce(
        {{ dbt.datediff('requests.received_date', 'requests.plan_start_date', 'day') }}  -- noqa: LT05
        <= {{ var('twenty_weeks_days') }},
        false
    ) as is_within_20_weeks,
    coalesce(requests.week20, false) as is_exception,
    coalesce(requests.request_mediation, false)
    or coalesce(requests.assessment_mediation, false)
    or coalesce(requests.other_mediation, false) as is_mediation,
    coalesce(requests.request_tribunal, false)
    or coalesce(requests.assessment_tribunal, false)
    or coalesce(requests.other_tribunal, false) as is_tribunal,
    coalesce(requests.has_named_plan and requests.plan_start_date is not null, false) as has_plan
from {{ ref('stg_sen2__requests') }} as requests
inner join latest on requests.extract_date = latest.extract_date
