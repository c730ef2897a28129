-- Every published cell a KPI is built from (kpi_source_measures.csv), from all KPI sources, in one
-- shape: geography, typed period, value and status, and the source's lineage. An LA is keyed by its
-- current code (stg_reference__local_authorities.current_la_code), whichever code the file used.
-- Every release's cells are kept (the revisions mart compares them); is_current marks the ones the
-- KPI values use. Where releases overlap, the newest release that covers the geography and period
-- wins (design.md section 8): the staging models mark the rows a newer release superseded, and
-- here the same applies once an LA's old and new codes are one (release_order, latest first).
{%- set kpi_sources = [
    'stg_ehcp__timeliness',
    'stg_ehcp__caseload',
    'stg_ehcp__requests',
    'stg_ehcp__newplans',
    'stg_neet__la_dashboard',
    'stg_school_census__pupils',
    'stg_ks4__characteristics',
    'stg_lait__indicators',
] %}

with source_values as (

    {% for model in kpi_sources -%}
    select
        source,
        measure,
        breakdown,
        geo_level,
        geo_code,
        period_key,
        period_type,
        period_label,
        period_start,
        period_end,
        period_seq,
        value,
        value_status,
        release,
        release_order,
        {#- LAIT keeps one figure per indicator and period (its "(Rev)" rows replace the plain ones) #}
        {{ 'true as is_current' if model == 'stg_lait__indicators' else 'is_current' }},
        source_file,
        source_row
    from {{ ref(model) }}
    {#- only the measures a KPI maps (the join below matches them exactly): the engine skips the
        period arithmetic of every other published cell, most of them #}
    where measure in (select measures.measure from {{ ref('kpi_source_measures') }} as measures)
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

mapped_measures as (

    select distinct
        source,
        measure,
        breakdown
    from {{ ref('kpi_source_measures') }}

),

local_authorities as (

    select
        la_code,
        current_la_code
    from {{ ref('stg_reference__local_authorities') }}

),

keyed as (

    select
        source_values.source,
        source_values.measure,
        source_values.breakdown,
        source_values.geo_level,
        coalesce(local_authorities.current_la_code, source_values.geo_code) as geo_code,
        source_values.geo_code as published_geo_code,
        source_values.period_key,
        source_values.period_type,
        source_values.period_label,
        source_values.period_start,
        source_values.period_end,
        source_values.period_seq,
        source_values.value,
        source_values.value_status,
        source_values.release,
        source_values.release_order,
        source_values.is_current as is_current_release,
        source_values.source_file,
        source_values.source_row
    from source_values
    inner join mapped_measures
        on
            source_values.source = mapped_measures.source
            and source_values.measure = mapped_measures.measure
            and source_values.breakdown = mapped_measures.breakdown
    left join local_authorities
        on
            source_values.geo_level = 'la'
            and source_values.geo_code = local_authorities.la_code
    where
        source_values.geo_level in ('la', 'region', 'england')
        and source_values.geo_code is not null
        and source_values.period_key is not null

),

ranked as (

    select
        *,
        dense_rank() over (
            partition by source, geo_level, geo_code, period_key, is_current_release
            order by coalesce(release_order, '') desc
        ) as release_rank
    from keyed

)

select
    source,
    measure,
    breakdown,
    geo_level,
    geo_code,
    published_geo_code,
    period_key,
    period_type,
    period_label,
    period_start,
    period_end,
    period_seq,
    value,
    value_status,
    release,
    release_order,
    is_current_release and release_rank = 1 as is_current,
    source_file,
    source_row
from ranked
