{#- The staging query of an EES tidy raw table (one row per published cell): the common shape every
    KPI source shares, so int_kpi_source_values can union them.

    breakdown: an expression naming the row's filter combination as one string, e.g.
    "breakdown_topic || '|' || breakdown"; kpi_source_measures.csv matches on it. -#}
{% macro ees_staging(table_name, breakdown, january_snapshot=false) -%}
with source as (

    select * from {{ source('raw', table_name) }}

),

regions as (

    select distinct
        region_code,
        lower(region_name) as region_name
    from {{ ref('stg_reference__local_authorities') }}
    where region_code is not null

),

typed as (

    select
        '{{ table_name }}' as source,
        source.measure,
        {{ breakdown }} as breakdown,
        {{ ees_geography('source', 'regions.region_code is not null') }},
        {{ ees_period_type_and_year('source.time_period', 'source.time_identifier', january_snapshot) }},
        source.time_period as time_period_raw,
        source.value,
        source.value_status,
        source.value_raw,
        source.release,
        source.source_file,
        source.source_row
    from source
    left join regions
        on
            source.geographic_level = 'Regional'
            and source.region_code = regions.region_code
            and lower(source.region_name) = regions.region_name

)

select
    source,
    measure,
    breakdown,
    geo_level,
    geo_code,
    la_code,
    region_code,
    {{ period_columns('period_type_raw', 'period_year_raw') }},
    time_period_raw,
    value,
    value_status,
    value_raw,
    release,
    source_file,
    source_row
from typed
{%- endmacro %}
