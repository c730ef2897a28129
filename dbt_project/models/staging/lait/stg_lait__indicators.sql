-- The LAIT long data set, one row per indicator, geography and period.
--
-- LAIT writes periods as text whose meaning depends on the indicator's year type (its dictionary):
-- "2024" is the 2023/24 academic year for an academic-year indicator, calendar 2024 for a
-- calendar-year one, January 2024 for "Annual - January", FY 2023-24 for a financial-year one;
-- "2023/24" and "2023-24" are single academic / financial years. Suffixes mark versions:
-- "(Rev)", "(Final)" and "(OT)" (outturn) replace the plain figure, "(prov)" is replaced by it.
-- Multi-year ranges ("2014-16", "2013/14-15/16") and "0" are left out: no KPI uses them.
--
-- A table, not a view like the other staging models: choosing each figure's version (the window
-- below) over LAIT's 640k cells is the costliest step of the build, and as a view it ran again for
-- int_kpi_source_values and for each data test of this model.
{{ config(materialized='table') }}
with source as (

    {%- set columns = [] %}
    {%- for name in ['measure_short', 'data_item', 'years', 'la_and_regions', 'lait_region', 'geographic_level',
                     'new_la_code', 'region_code', 'value_raw', 'value_status', 'release', 'source_file',
                     'release_order'] %}
    {%- do columns.append([name, dbt.type_string()]) %}
    {%- endfor %}
    {{ current_rows('lait_indicators', columns + [['la_number', dbt.type_bigint()], ['value', type_double()],
                                                 ['source_row', dbt.type_bigint()]]) }}

),

dictionary as (

    select
        measure_short,
        year_type
    from {{ ref('stg_lait__data_dictionary') }}

),

split_years as (

    select
        source.*,
        dictionary.year_type,
        trim(case
            when source.years like '% (%' then substr(source.years, 1, position(' (' in source.years) - 1)
            else source.years
        end) as base_years,
        case
            when
                source.years like '%(Rev)'
                or source.years like '%(Final)'
                or source.years like '%(OT)'
                then 1
            when source.years like '%(prov)' then 3
            else 2
        end as version_rank
    from source
    left join dictionary
        on source.measure_short = dictionary.measure_short

),

parsed as (

    select
        *,
        {{ safe_cast_integer('substr(base_years, 1, 4)') }} as first_year,
        case
            when length(base_years) = 4 then 'single'
            when length(base_years) = 7 and substr(base_years, 5, 1) in ('/', '-')
                then 'two_part'
            else 'range'
        end as years_shape,
        {{ safe_cast_integer('substr(base_years, 6, 2)') }} as second_part
    from split_years

),

typed as (

    select
        measure_short,
        data_item,
        years,
        la_number,
        la_and_regions,
        lait_region,
        geographic_level,
        new_la_code,
        region_code,
        value,
        value_status,
        value_raw,
        release,
        release_order,
        source_file,
        source_row,
        version_rank,
        case
            when first_year is null then null
            when years_shape = 'single'
                then case year_type
                    when 'Academic Year' then 'academic_year'
                    when 'Financial Year' then 'financial_year'
                    when 'Annual - January' then 'january_snapshot'
                    else 'calendar_year'
                end
            -- "2023/24" or "2023-24": one year, not a range such as "2015-17"
            when years_shape = 'two_part' and second_part = mod(first_year + 1, 100)
                then case year_type
                    when 'Financial Year' then 'financial_year'
                    else 'academic_year'
                end
        end as period_type_raw,
        case
            when years_shape = 'single' and year_type in ('Academic Year', 'Financial Year')
                then first_year - 1
            else first_year
        end as period_year_raw
    from parsed

),

periods as (

    select
        'lait_indicators' as source,
        measure_short as measure,
        'all' as breakdown,
        case geographic_level
            when 'National' then 'england'
            when 'Regional' then 'region'
            when 'Sub-regional' then 'sub_region'
            when 'Local authority' then 'la'
        end as geo_level,
        case geographic_level
            when 'National' then '{{ var("england_code") }}'
            when 'Regional' then region_code
            when 'Sub-regional' then cast(la_number as {{ dbt.type_string() }})
            when 'Local authority' then new_la_code
        end as geo_code,
        case when geographic_level = 'Local authority' then new_la_code end as la_code,
        region_code,
        la_number,
        la_and_regions,
        {{ period_columns('period_type_raw', 'period_year_raw') }},
        years as time_period_raw,
        version_rank,
        value,
        value_status,
        value_raw,
        release,
        release_order,
        source_file,
        source_row
    from typed
    where period_type_raw is not null

),

latest_version as (

    select
        *,
        row_number() over (
            partition by measure, la_number, period_key
            order by version_rank, source_row
        ) as version_order
    from periods

)

select
    source,
    measure,
    breakdown,
    geo_level,
    geo_code,
    la_code,
    region_code,
    la_number,
    la_and_regions,
    period_key,
    period_type,
    period_label,
    period_start,
    period_end,
    period_seq,
    time_period_raw,
    value,
    value_status,
    value_raw,
    release,
    release_order,
    source_file,
    source_row
from latest_version
where version_order = 1
