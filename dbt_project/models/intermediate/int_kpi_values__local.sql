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
--
-- Casework from the SEN2 return is preferred: where the LA's SEN2 person-level return
-- (int_sen2__monthly_kpis, source sen2_requests) gives a casework measure for a period, the same
-- measure and period from the custom casework layout (local_ehcp_casework) stays, with is_preferred
-- false and is_scorecard_measure false; the custom layout remains the source for councils without
-- a SEN2 export, for the months after the return's extract date, and for S13 and LEAD20.
{%- set local_kpi_models = [
    'int_local__flow_kpis',
    'int_local__stock_kpis',
    'int_local__exclusion_kpis',
    'int_local__offer_training_kpis',
    'int_local__post16_kpis',
] %}

with unioned as (

    {% for model in local_kpi_models -%}
    select
        kpi_id,
        measure,
        unit,
        month,
        period_type,
        period_start,
        period_end,
        numerator,
        denominator,
        false as is_sen2
    from {{ ref(model) }}
    union all
    {% endfor -%}
    -- the SEN2 return's casework measures, under the local KPI of the custom layout (S5_inc -> S5)
    select
        measures.local_kpi_id as kpi_id,
        sen2.measure,
        sen2.unit,
        sen2.month,
        sen2.period_type,
        sen2.period_start,
        sen2.period_end,
        sen2.numerator,
        sen2.denominator,
        true as is_sen2
    from {{ ref('int_sen2__monthly_kpis') }} as sen2
    inner join {{ ref('local_kpi_measures') }} as measures
        on sen2.measure = measures.measure

),

catalogue_measures as (

    -- which catalogue KPI each local measure shows as, and the period type the scorecard shows
    -- (seeds/local_kpi_measures.csv)
    select
        catalogue_measures.local_kpi_id,
        catalogue_measures.measure,
        catalogue_measures.kpi_id,
        catalogue_measures.scorecard_period_type,
        catalogue_measures.source
    from {{ ref('local_kpi_measures') }} as catalogue_measures

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
                then {{ round_to('cast(100 * unioned.numerator as ' ~ type_double() ~ ') / unioned.denominator', 1) }}
            when unioned.unit = 'count' then cast(unioned.numerator as {{ type_double() }})
        end as value,
        coalesce(catalogue_measures.scorecard_period_type = unioned.period_type, false) as is_scorecard_measure,
        unioned.is_sen2,
        case
            when unioned.is_sen2 then 'sen2_requests'
            when unioned.kpi_id = 'LEAD20' then 'local_ehcp_casework'
            when unioned.kpi_id like 'S%' then 'local_ehcp_casework'
            when unioned.kpi_id like 'E%' then 'local_exclusions'
            when unioned.kpi_id = 'L1' then 'local_offer_visits'
            when unioned.kpi_id = 'L2' then 'local_training'
            when unioned.kpi_id like 'P%' then 'local_post16_tracking'
        end as source,
        {{ date_text('unioned.month', 'month') }} as month_text
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
            when 'as_at' then 'AT-' || {{ date_text('period_end') }}
        end as period_key,
        case period_type
            when 'month' then month_text
            when 'rolling_12_months' then '12 months to ' || month_text
            when 'academic_year_to_date' then 'Academic year to ' || month_text
            when 'month_end' then 'End of ' || month_text
            when 'as_at' then 'As at ' || {{ date_text('period_end') }}
        end as period_label
    from valued

),

preferred as (

    select
        *,
        is_sen2 or sum(case when is_sen2 then 1 else 0 end) over same_period = 0 as is_preferred
    from keyed
    window same_period as (partition by local_kpi_id, measure, period_key)

)

select
    local_kpi_id,
    measure,
    kpi_id,
    source,
    'provisional / local' as source_label,
    'la' as geo_level,
    cast({{ local_la_code() }} as {{ dbt.type_string() }}) as geo_code,
    period_key,
    period_type,
    period_label,
    period_start,
    period_end,
    cast(year(month) * 12 + month(month) as integer) as period_seq,
    month,
    value,
    cast(numerator as {{ type_double() }}) as numerator,
    cast(denominator as {{ type_double() }}) as denominator,
    cast(null as {{ type_double() }}) as published_value,
    case when value is null then 'missing' else 'ok' end as value_status,
    unit,
    unit = 'percent' as is_recomputed,
    case when unit = 'percent' then 100 end as ratio_scale,
    1 as precedence,
    cast(null as {{ dbt.type_string() }}) as release,
    is_preferred,
    is_scorecard_measure and is_preferred as is_scorecard_measure,
    lag(period_key) over previous as previous_period_key,
    lag(value) over previous as previous_value
from preferred
window previous as (partition by source, local_kpi_id, measure, period_type order by period_end, month)
