-- NOT FOR PUBLICATION. The open requests behind the 20-week leading indicator, by pseudonymous
-- request and person key, as at the latest casework extract date: those already past 20 weeks and
-- those that will pass 20 weeks within the next 4 weeks, for the casework team to chase. Keys are
-- keyed hashes (docs/local-extracts.md section 2), but a list of individual cases is personal data:
-- it lives in its own schema (casework_restricted), is never exported by the reports, and access
-- should be limited to the SEND casework team.
{{ config(schema='casework_restricted', meta={'not_for_publication': true, 'contains_personal_data': true}) }}
with open_requests as (

    select
        extract_date as as_at_date,
        request_key,
        person_key,
        request_received_date,
        assessment_outcome,
        {{ days_between('request_received_date', 'extract_date') }} as days_open
    from {{ ref('int_local__casework_requests') }}
    where
        request_received_date <= extract_date
        and coalesce(closed_date, date '9999-12-31') > extract_date

)

select
    as_at_date,
    request_key,
    person_key,
    request_received_date,
    assessment_outcome,
    days_open,
    {{ add_days('request_received_date', var('twenty_weeks_days') + 1) }} as passes_20_weeks_on,
    case
        when days_open > {{ var('twenty_weeks_days') }} then 'past 20 weeks'
        else 'passes 20 weeks within 4 weeks'
    end as status
from open_requests
where days_open >= {{ var('twenty_weeks_days') - var('leading_window_days') + 1 }}
