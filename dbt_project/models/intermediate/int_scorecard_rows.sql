-- One row per LA in scope and catalogue KPI for the reporting period, with everything the RAG
-- rating and the direction of travel are decided from: the KPI's latest period on or before the
-- reporting date, the LA's value and previous value, its target, the unit's default rules and
-- the benchmarks. fct_scorecard rates these rows.
--
-- Local monthly values (int_kpi_values__local, provisional) come in two ways: a KPI without any
-- published figure shows the latest local value as its value (source local_*, rated like any
-- value); every KPI with local data also carries its latest local value beside the published one
-- (provisional_*), and fct_scorecard says which of the two is the latest (latest_value_basis).
-- is_stale / quality_note: a source of the KPI (kpi_source_measures.csv, or the local extract)
-- had its latest file refused after its last good load (int_source_health).
--
-- vars: reporting_period ('latest' or an ISO date; a period counts when it ends on or before it),
--       scorecard_la ('all' = every live LA, or one new_la_code).
{%- set reporting_period = var('reporting_period', 'latest') | string %}
{%- set scorecard_la = var('scorecard_la', 'all') | string %}

with la_values as (

    select *
    from {{ ref('int_kpi_values') }}
    where
        is_preferred
        and geo_level = 'la'
        and value is not null

),

reporting as (

    select
        cast('{{ reporting_period }}' as {{ dbt.type_string() }}) as reporting_period,
        {% if reporting_period == 'latest' -%}
        (select max(period_end) from la_values) as reporting_date
        {%- else -%}
        cast('{{ reporting_period }}' as date) as reporting_date
        {%- endif %}

),

kpi_periods as (

    select distinct
        kpi_id,
        period_key,
        period_label,
        period_start,
        period_end
    from la_values

),

kpi_latest_period as (

    select
        kpi_periods.*,
        row_number() over (
            partition by kpi_periods.kpi_id
            order by kpi_periods.period_end desc, kpi_periods.period_start desc
        ) as recency
    from kpi_periods
    inner join reporting
        on kpi_periods.period_end <= reporting.reporting_date

),

local_authorities as (

    select *
    from {{ ref('stg_reference__local_authorities') }}
    {% if scorecard_la == 'all' -%}
    where status = 'live'
    {%- else -%}
    where la_code = '{{ scorecard_la }}'
    {%- endif %}

),

targets_in_force as (

    select
        targets.la_code,
        targets.kpi_id,
        targets.target,
        targets.tolerance,
        targets.from_period,
        targets.set_by,
        targets.agreed_on,
        row_number() over (
            partition by targets.la_code, targets.kpi_id
            order by targets.applies_from desc
        ) as target_order
    from {{ ref('int_kpi_targets') }} as targets
    inner join kpi_latest_period as latest
        on
            targets.kpi_id = latest.kpi_id
            and latest.recency = 1
            and targets.applies_from <= latest.period_start

),

kpi_source_loads as (

    select distinct
        measures.kpi_id,
        measures.source,
        coalesce(loads.is_loaded, false) as is_loaded
    from {{ ref('kpi_source_measures') }} as measures
    left join {{ ref('int_source_loads') }} as loads
        on measures.source = loads.source

),

-- sources_not_loaded: the KPI's national sources when none of them was ever loaded (design.md
-- section 8: any subset of sources builds; the KPI shows "No data (source not loaded: ...)")
kpis_with_sources as (

    select
        kpi_id,
        case
            when max(case when is_loaded then 1 else 0 end) = 0
                then {{ dbt.listagg('source', "', '", 'order by source') }}
        end as sources_not_loaded
    from kpi_source_loads
    group by kpi_id

),

local_latest as (

    select
        local_values.*,
        row_number() over (
            partition by local_values.geo_code, local_values.kpi_id
            order by local_values.period_end desc, local_values.month desc
        ) as recency
    from {{ ref('int_kpi_values__local') }} as local_values
    cross join reporting
    where
        local_values.is_scorecard_measure
        and local_values.kpi_id is not null
    {% if reporting_period != 'latest' -%}
        and local_values.period_end <= reporting.reporting_date
        {%- endif %}

),

-- the same series a year earlier, for monthly direction of travel against the same month last
-- year: matched on the month the period ends in
local_year_earlier as (

    select
        geo_code,
        kpi_id,
        period_type,
        period_label,
        value,
        {{ month_start('period_end') }} as period_month
    from {{ ref('int_kpi_values__local') }}
    where is_scorecard_measure and kpi_id is not null

),

kpi_sources as (

    select distinct
        kpi_id,
        source
    from {{ ref('kpi_source_measures') }}
    union
    select distinct
        kpi_id,
        source
    from {{ ref('int_kpi_values__local') }}
    where kpi_id is not null

),

kpi_health as (

    select
        kpi_sources.kpi_id,
        {{ string_agg_ordered('health.quality_note', ' ', 'health.source') }} as quality_note
    from kpi_sources
    inner join {{ ref('int_source_health') }} as health
        on kpi_sources.source = health.source
    where health.is_stale
    group by kpi_sources.kpi_id

),

rows_with_local as (

    select
        local_authorities.la_code,
        catalogue.kpi_id,
        latest.period_key is null and local_values.period_key is not null as uses_local
    from local_authorities
    cross join {{ ref('kpi_catalogue') }} as catalogue
    left join kpi_latest_period as latest
        on
            catalogue.kpi_id = latest.kpi_id
            and latest.recency = 1
    left join local_latest as local_values
        on
            local_authorities.la_code = local_values.geo_code
            and catalogue.kpi_id = local_values.kpi_id
            and local_values.recency = 1

)

select
    reporting.reporting_period,
    reporting.reporting_date,
    local_authorities.la_code,
    local_authorities.la_name,
    local_authorities.region_code,
    local_authorities.region_name,
    catalogue.kpi_id,
    catalogue.display_order,
    catalogue.parent_kpi_id,
    catalogue.parent_kpi_id is null as is_headline,
    catalogue.title,
    catalogue.family,
    catalogue.unit,
    catalogue.polarity,
    catalogue.decimal_places,
    catalogue.is_benchmarked,
    kpis_with_sources.kpi_id is not null as has_national_source,
    case when local_values.kpi_id is null then kpis_with_sources.sources_not_loaded end as sources_not_loaded,
    case when local_choice.uses_local then local_values.period_key else latest.period_key end as period_key,
    case when local_choice.uses_local then local_values.period_label else latest.period_label end as period_label,
    case when local_choice.uses_local then local_values.value else benchmarks.value end as value,
    case
        when local_choice.uses_local then local_values.value_status
        else coalesce(benchmarks.value_status, case when latest.period_key is not null then 'missing' end)
    end as value_status,
    case when local_choice.uses_local then local_values.numerator else benchmarks.numerator end as numerator,
    case when local_choice.uses_local then local_values.denominator else benchmarks.denominator end as denominator,
    case when local_choice.uses_local then local_values.source else benchmarks.source end as source,
    case when local_choice.uses_local then local_values.release else benchmarks.release end as release,
    case when local_choice.uses_local then local_values.previous_period_key else benchmarks.previous_period_key end
        as previous_period_key,
    case when local_choice.uses_local then local_values.previous_value else benchmarks.previous_value end
        as previous_value,
    case
        when local_choice.uses_local then local_values.value - local_values.previous_value
        else benchmarks.change_from_previous
    end as change_from_previous,
    local_choice.uses_local as is_local_value,
    latest.period_end as published_period_end,
    local_values.period_key as provisional_period_key,
    local_values.period_label as provisional_period_label,
    local_values.period_end as provisional_period_end,
    local_values.value as provisional_value,
    local_values.value_status as provisional_value_status,
    local_values.source as provisional_source,
    local_values.previous_value as provisional_previous_value,
    year_earlier.value as provisional_last_year_value,
    year_earlier.period_label as provisional_last_year_period_label,
    coalesce(health.quality_note is not null, false) as is_stale,
    health.quality_note,
    targets.target,
    targets.from_period as target_from_period,
    targets.set_by as target_set_by,
    targets.agreed_on as target_agreed_on,
    coalesce(
        targets.tolerance,
        case
            when rules.tolerance_type = 'relative' then abs(targets.target) * rules.target_tolerance / 100
            else rules.target_tolerance
        end
    ) as target_tolerance,
    case when targets.tolerance is not null then 'absolute' else rules.tolerance_type end
        as tolerance_type,
    case when targets.tolerance is null then rules.target_tolerance end as tolerance_percent_of_target,
    rules.no_change_threshold,
    rules.compare_without_target,
    benchmarks.sn_vintage,
    benchmarks.sn_count_reported,
    benchmarks.sn_average,
    benchmarks.sn_pooled_rate,
    benchmarks.region_value,
    benchmarks.england_value,
    benchmarks.national_rank,
    benchmarks.n_ranked,
    benchmarks.quartile_band
from local_authorities
cross join {{ ref('kpi_catalogue') }} as catalogue
cross join reporting
left join kpi_latest_period as latest
    on
        catalogue.kpi_id = latest.kpi_id
        and latest.recency = 1
left join {{ ref('int_kpi_benchmarks') }} as benchmarks
    on
        local_authorities.la_code = benchmarks.la_code
        and catalogue.kpi_id = benchmarks.kpi_id
        and latest.period_key = benchmarks.period_key
left join targets_in_force as targets
    on
        local_authorities.la_code = targets.la_code
        and catalogue.kpi_id = targets.kpi_id
        and targets.target_order = 1
left join {{ ref('rag_rules') }} as rules
    on catalogue.unit = rules.unit
left join kpis_with_sources
    on catalogue.kpi_id = kpis_with_sources.kpi_id
left join local_latest as local_values
    on
        local_authorities.la_code = local_values.geo_code
        and catalogue.kpi_id = local_values.kpi_id
        and local_values.recency = 1
left join local_year_earlier as year_earlier
    on
        local_values.geo_code = year_earlier.geo_code
        and local_values.kpi_id = year_earlier.kpi_id
        and local_values.period_type = year_earlier.period_type
        and year_earlier.period_month = {{ add_months(month_start('local_values.period_end'), -12) }}
left join rows_with_local as local_choice
    on
        local_authorities.la_code = local_choice.la_code
        and catalogue.kpi_id = local_choice.kpi_id
left join kpi_health as health
    on catalogue.kpi_id = health.kpi_id
