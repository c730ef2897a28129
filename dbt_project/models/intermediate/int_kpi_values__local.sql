-- KPI values from the local monthly extracts for the LA that supplied them (var local_la_code), in
-- the long layout of the other int_kpi_values__* models plus what monthly data needs: the measure,
-- the reporting month and the period type (month, rolling_12_months, academic_year_to_date,
-- month_end, as_at; docs/local-extracts.md section 6). Every value is provisional: source is the raw
-- table, source_label 'provisional / local'.
--
-- kpi_id is the catalogue KPI a measure shows as (S5 excl. exceptions -> S5, incl. -> S5_inc, P1 at
-- SEN support -> P1_sens, L2 staff trained -> L2, the E7-E10 counts -> E7-E10), NULL for measures
-- shown beside them only (the E7-E10 percentages, S13 in any location, L1 page views and summed
-- users, L2 completions, LEAD20). is_scorecard_measure marks the period type the scorecard shows:
-- the rolling 12 months for S5 and the flows S9-S12 (comparable with the annual figures and not
-- swayed by one month), the month end for S6, the latest snapshot for S13, the month for the rest.
--
-- Period keys: 2025-03 (month), R12-2025-03, AYTD-2025-03, END-2025-03, AT-2025-03-31 (as_at).
with unioned as (

    select * from {{ ref('int_local__flow_kpis') }}
    union all by name
    select * from {{ ref('int_local__stock_kpis') }}
    union all by name
    select * from {{ ref('int_local__exclusion_kpis') }}
    union all by name
    select * from {{ ref('int_local__offer_training_kpis') }}
    union all by name
    select * from {{ ref('int_local__post16_kpis') }}

),

catalogue_measures as (

    select
        catalogue_measures.col0 as local_kpi_id,
        catalogue_measures.col1 as measure,
        catalogue_measures.col2 as kpi_id,
        catalogue_measures.col3 as scorecard_period_type,
        catalogue_measures.col4 as source
    from (
        values
        ('S5', 'pct_within_20_weeks_excl_exceptions', 'S5', 'rolling_12_months', 'local_ehcp_casework'),
        ('S5', 'pct_within_20_weeks_incl_exceptions', 'S5_inc', 'rolling_12_months', 'local_ehcp_casework'),
        ('S6', 'active_plans', 'S6', 'month_end', 'local_ehcp_casework'),
        ('S9', 'new_plans_issued', 'S9', 'rolling_12_months', 'local_ehcp_casework'),
        ('S10', 'requests_received', 'S10', 'rolling_12_months', 'local_ehcp_casework'),
        ('S11', 'mediation_cases', 'S11', 'rolling_12_months', 'local_ehcp_casework'),
        ('S12', 'tribunal_appeals', 'S12', 'rolling_12_months', 'local_ehcp_casework'),
        ('S13', 'inmss_placements_out_of_borough', 'S13', 'as_at', 'local_ehcp_casework'),
        ('E7', 'suspensions', 'E7', 'month', 'local_exclusions'),
        ('E8', 'suspensions', 'E8', 'month', 'local_exclusions'),
        ('E9', 'permanent_exclusions', 'E9', 'month', 'local_exclusions'),
        ('E10', 'permanent_exclusions', 'E10', 'month', 'local_exclusions'),
        ('L1', 'visits', 'L1', 'month', 'local_offer_visits'),
        ('L2', 'staff_trained', 'L2', 'month', 'local_training'),
        ('P1', 'pct_neet_or_not_known_ehcp', 'P1', 'month', 'local_post16_tracking'),
        ('P1', 'pct_neet_or_not_known_sen_support', 'P1_sens', 'month', 'local_post16_tracking'),
        ('P2', 'pct_employment_of_eet', 'P2', 'month', 'local_post16_tracking'),
        ('P3', 'pct_supported_internship_of_eet', 'P3', 'month', 'local_post16_tracking'),
        ('P4', 'employment_based_learning', 'P4', 'month', 'local_post16_tracking'),
        ('P5', 'other_employment', 'P5', 'month', 'local_post16_tracking'),
        ('P6', 'volunteering', 'P6', 'month', 'local_post16_tracking'),
        ('P7', 'continuing_study', 'P7', 'month', 'local_post16_tracking'),
        ('P8', 'social_care_activities', 'P8', 'month', 'local_post16_tracking'),
        ('P9', 'supported_or_independent_living', 'P9', 'month', 'local_post16_tracking'),
        ('P10', 'annual_health_check', 'P10', 'month', 'local_post16_tracking')
    ) as catalogue_measures

),

valued as (

    select
        unioned.kpi_id as local_kpi_id,
        unioned.measure,
        catalogue_measures.kpi_id,
        unioned.unit,
        unioned.month,
        unioned.period_type,
        unioned.period_start,
        unioned.period_end,
        unioned.numerator,
        unioned.denominator,
        case
            when unioned.unit = 'percent' and unioned.denominator > 0
                then round(cast(100 * unioned.numerator as double) / unioned.denominator, 1)
            when unioned.unit = 'count' then cast(unioned.numerator as double)
        end as value,
        coalesce(catalogue_measures.scorecard_period_type = unioned.period_type, false) as is_scorecard_measure,
        case
            when unioned.kpi_id = 'LEAD20' then 'local_ehcp_casework'
            when unioned.kpi_id like 'S%' then 'local_ehcp_casework'
            when unioned.kpi_id like 'E%' then 'local_exclusions'
            when unioned.kpi_id = 'L1' then 'local_offer_visits'
            when unioned.kpi_id = 'L2' then 'local_training'
            when unioned.kpi_id like 'P%' then 'local_post16_tracking'
        end as source,
        strftime(unioned.month, '%Y-%m') as month_text
    from unioned
    left join catalogue_measures
        on
            unioned.kpi_id = catalogue_measures.local_kpi_id
            and unioned.measure = catalogue_measures.measure

),

keyed as (

    select
        *,
        case period_type
            when 'month' then month_text
            when 'rolling_12_months' then 'R12-' || month_text
            when 'academic_year_to_date' then 'AYTD-' || month_text
            when 'month_end' then 'END-' || month_text
            when 'as_at' then 'AT-' || strftime(period_end, '%Y-%m-%d')
        end as period_key,
        case period_type
            when 'month' then month_text
            when 'rolling_12_months' then '12 months to ' || month_text
            when 'academic_year_to_date' then 'Academic year to ' || month_text
            when 'month_end' then 'End of ' || month_text
            when 'as_at' then 'As at ' || strftime(period_end, '%Y-%m-%d')
        end as period_label
    from valued

)

select
    local_kpi_id,
    measure,
    kpi_id,
    source,
    'provisional / local' as source_label,
    'la' as geo_level,
    cast({{ local_la_code() }} as varchar) as geo_code,
    period_key,
    period_type,
    period_label,
    period_start,
    period_end,
    cast(year(month) * 12 + month(month) as integer) as period_seq,
    month,
    value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(null as double) as published_value,
    case when value is null then 'missing' else 'ok' end as value_status,
    unit,
    unit = 'percent' as is_recomputed,
    case when unit = 'percent' then 100 end as ratio_scale,
    1 as precedence,
    cast(null as varchar) as release,
    is_scorecard_measure,
    lag(period_key) over previous as previous_period_key,
    lag(value) over previous as previous_value
from keyed
window previous as (partition by local_kpi_id, measure, period_type order by period_end, month)
