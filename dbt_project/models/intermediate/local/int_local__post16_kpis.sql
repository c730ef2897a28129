-- P1-P10 from each month's post-16 caseload on its own (docs/local-extracts.md section 6). SEND
-- means send_status ehcp or sen_support; EET means education, employment, apprenticeship,
-- supported internship or training. P1 (and P1 at SEN support beside it) covers academic age 16-17
-- only; P2-P10 every age in the caseload. P8-P10 need optional columns: a month where the column
-- is empty for everyone has no row for that KPI.
with caseload as (

    select
        *,
        send_status in ('ehcp', 'sen_support') as is_send,
        academic_age between 16 and 17 as is_16_17,
        activity in ('neet', 'not_known') as is_neet_or_not_known
    from {{ ref('stg_local__post16_tracking') }}

),

counts as (

    select
        month,
        count(*) filter (where is_16_17 and send_status = 'ehcp') as cohort_ehcp,
        count(*) filter (where is_16_17 and send_status = 'ehcp' and is_neet_or_not_known) as nk_ehcp,
        count(*) filter (where is_16_17 and send_status = 'sen_support') as cohort_support,
        count(*) filter (where is_16_17 and send_status = 'sen_support' and is_neet_or_not_known) as nk_support,
        count(*) filter (
            where is_send
            and activity in ('education', 'employment', 'apprenticeship', 'supported_internship', 'training')
        ) as eet,
        count(*) filter (where is_send and activity in ('employment', 'apprenticeship')) as employed,
        count(*) filter (where is_send and activity = 'supported_internship') as internship,
        count(*) filter (
            where is_send and activity in ('apprenticeship', 'supported_internship', 'training')
        ) as work_learning,
        count(*) filter (where is_send and activity = 'employment') as employment,
        count(*) filter (where is_send and activity = 'volunteering') as volunteering,
        count(*) filter (where is_send and activity = 'education') as study,
        count(*) filter (where is_send and social_care_activity) as social_care,
        count(social_care_activity) > 0 as has_social_care,
        count(*) filter (
            where is_send and living_arrangement in ('supported_living', 'independent_living')
        ) as living,
        count(living_arrangement) > 0 as has_living,
        count(*) filter (where is_send and annual_health_check) as health_check,
        count(annual_health_check) > 0 as has_health_check
    from caseload
    group by month

),

kpis as (

    select
        'P1' as kpi_id,
        'pct_neet_or_not_known_ehcp' as measure,
        'percent' as unit,
        month,
        nk_ehcp as numerator,
        cohort_ehcp as denominator
    from counts
    union all
    select
        'P1' as kpi_id,
        'pct_neet_or_not_known_sen_support' as measure,
        'percent' as unit,
        month,
        nk_support as numerator,
        cohort_support as denominator
    from counts
    union all
    select
        'P2' as kpi_id,
        'pct_employment_of_eet' as measure,
        'percent' as unit,
        month,
        employed as numerator,
        eet as denominator
    from counts
    union all
    select
        'P3' as kpi_id,
        'pct_supported_internship_of_eet' as measure,
        'percent' as unit,
        month,
        internship as numerator,
        eet as denominator
    from counts
    union all
    select
        'P4' as kpi_id,
        'employment_based_learning' as measure,
        'count' as unit,
        month,
        work_learning as numerator,
        null as denominator
    from counts
    union all
    select
        'P5' as kpi_id,
        'other_employment' as measure,
        'count' as unit,
        month,
        employment as numerator,
        null as denominator
    from counts
    union all
    select
        'P6' as kpi_id,
        'volunteering' as measure,
        'count' as unit,
        month,
        volunteering as numerator,
        null as denominator
    from counts
    union all
    select
        'P7' as kpi_id,
        'continuing_study' as measure,
        'count' as unit,
        month,
        study as numerator,
        null as denominator
    from counts
    union all
    select
        'P8' as kpi_id,
        'social_care_activities' as measure,
        'count' as unit,
        month,
        social_care as numerator,
        null as denominator
    from counts
    where has_social_care
    union all
    select
        'P9' as kpi_id,
        'supported_or_independent_living' as measure,
        'count' as unit,
        month,
        living as numerator,
        null as denominator
    from counts
    where has_living
    union all
    select
        'P10' as kpi_id,
        'annual_health_check' as measure,
        'count' as unit,
        month,
        health_check as numerator,
        null as denominator
    from counts
    where has_health_check

)

select
    kpi_id,
    measure,
    unit,
    month,
    'month' as period_type,
    month as period_start,
    cast(last_day(month) as date) as period_end,
    cast(numerator as bigint) as numerator,
    cast(denominator as bigint) as denominator
from kpis
