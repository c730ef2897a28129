{#- The staging query of an EES tidy raw table (one row per published cell): the common shape every
    KPI source shares, so int_kpi_source_values can union them.

    breakdown: an expression naming the row's filter combination as one string, e.g.
    "breakdown_topic || '|' || breakdown"; kpi_source_measures.csv matches on it.
    filters: the filter columns the breakdown reads (so a source that was never loaded is an empty
    set of the same columns). Every release's rows are read (release_rows); is_current is false on
    the rows a newer release superseded (the KPI values use the current ones, the revisions all).
    older_layouts: also read the rows of earlier editions' main table (raw.ehcp_main_table) that the
    alias table maps onto this table (target_source); where editions overlap the newest release's
    rows are the current ones (pipelines/ingest/releases.py). -#}
{% macro ees_staging(table_name, breakdown, filters, january_snapshot=false, older_layouts=false) -%}
{%- set columns = ees_raw_columns(filters) -%}
with source as (

    select
        {%- for name, type in columns %}
        current_release.{{ name }},
        {%- endfor %}
        current_release.is_current
    from ({{ release_rows(table_name, columns) }}) as current_release
    {%- if older_layouts %}
    union all
    select
        {%- for name, type in columns %}
        older_edition.{{ name }},
        {%- endfor %}
        older_edition.is_current
    from ({{ release_rows('ehcp_main_table', columns + [['target_source', dbt.type_string()]]) }}) as older_edition
    where older_edition.target_source = '{{ table_name }}'
    {%- endif %}

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
        source.release_order,
        source.is_current,
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
    release_order,
    is_current,
    source_file,
    source_row
from typed
{%- endmacro %}
