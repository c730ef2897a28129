-- All KPI values of all families and sources in one long table. Where two sources give the same
-- KPI, geography and period both rows stay; is_preferred marks the one the benchmarks and the
-- scorecard use: the lowest precedence number (kpi_source_measures.csv) among the sources with a
-- value, or among all of them when none has a value (so the status is still reported).
with family_values as (

    select * from {{ ref('int_kpi_values__s') }}
    union all
    select * from {{ ref('int_kpi_values__e') }}
    union all
    select * from {{ ref('int_kpi_values__p') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by kpi_id, geo_level, geo_code, period_key
            order by case when value is null then 1 else 0 end, precedence nulls last, source
        ) as preference_order,
        count(*) over (partition by kpi_id, geo_level, geo_code, period_key) as n_sources
    from family_values

)

select
    kpi_id,
    source,
    geo_level,
    geo_code,
    period_key,
    period_type,
    period_label,
    period_start,
    period_end,
    period_seq,
    value,
    numerator,
    denominator,
    published_value,
    value_status,
    is_recomputed,
    ratio_scale,
    precedence,
    n_sources,
    preference_order = 1 as is_preferred,
    release
from ordered
