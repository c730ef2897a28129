-- Every KPI value: every national source for LAs, regions and England, every period, and the
-- provisional monthly values from the LA's own extracts (int_kpi_values__local, the measures that
-- show as a catalogue KPI; source_label 'provisional / local'). Where two sources give the same KPI,
-- geography and period both are kept; is_preferred marks the one used (a published figure wins over
-- a local one for the same period key, and the SEN2 return over the custom casework layout).
with national as (

    select
        geo_level,
        geo_code,
        kpi_id,
        period_key,
        period_type,
        source,
        'published / national' as source_label,
        false as is_provisional,
        value,
        numerator,
        denominator,
        published_value,
        value_status,
        is_recomputed,
        is_preferred,
        precedence,
        n_sources,
        release
    from {{ ref('int_kpi_values') }}

),

local_values as (

    select
        local_values.geo_level,
        local_values.geo_code,
        local_values.kpi_id,
        local_values.period_key,
        local_values.period_type,
        local_values.source,
        local_values.source_label,
        true as is_provisional,
        local_values.value,
        local_values.numerator,
        local_values.denominator,
        local_values.published_value,
        local_values.value_status,
        local_values.is_recomputed,
        published.kpi_id is null and local_values.is_preferred as is_preferred,
        local_values.precedence,
        cast(case when published.kpi_id is null then 1 else 2 end as bigint) as n_sources,
        local_values.release
    from {{ ref('int_kpi_values__local') }} as local_values
    left join national as published
        on
            local_values.geo_level = published.geo_level
            and local_values.geo_code = published.geo_code
            and local_values.kpi_id = published.kpi_id
            and local_values.period_key = published.period_key
            and published.is_preferred
    where local_values.kpi_id is not null

)

select * from national
union all
select * from local_values
