-- Statistical-neighbour benchmarks (the LAIT method): for each LA, benchmarked KPI and period, the
-- simple mean of its neighbours' values, leaving out neighbours without a value, how many of them
-- reported, and where numerators and denominators exist the pooled rate
-- (sum of numerators / sum of denominators * scale) over the neighbours that have both.
-- Two groupings (design.md section 4): sn_* over the current groupings for every period (LAIT's
-- figure, the headline), sn_*_in_force over the groupings in force for the period (for trends).
with la_values as (

    select * from {{ ref('int_kpi_la_values') }}

),

groupings as (

    select
        'current' as grouping_kind,
        period_key,
        vintage,
        groupings_label,
        la_code,
        neighbour_la_code
    from {{ ref('int_sn_neighbours_current') }}
    union all
    select
        'in_force' as grouping_kind,
        period_key,
        vintage,
        cast(null as {{ dbt.type_string() }}) as groupings_label,
        la_code,
        neighbour_la_code
    from {{ ref('int_sn_neighbours_in_force') }}

),

neighbour_values as (

    select
        la_values.la_code,
        la_values.kpi_id,
        la_values.period_key,
        groupings.grouping_kind,
        groupings.vintage,
        groupings.groupings_label,
        groupings.neighbour_la_code,
        neighbour.value,
        neighbour.numerator,
        neighbour.denominator,
        neighbour.ratio_scale
    from la_values
    inner join groupings
        on
            la_values.la_code = groupings.la_code
            and la_values.period_key = groupings.period_key
    left join la_values as neighbour
        on
            groupings.neighbour_la_code = neighbour.la_code
            and la_values.kpi_id = neighbour.kpi_id
            and la_values.period_key = neighbour.period_key
    where la_values.is_benchmarked

),

aggregated as (

    select
        la_code,
        kpi_id,
        period_key,
        grouping_kind,
        max(vintage) as vintage,
        max(groupings_label) as groupings_label,
        count(*) as group_size,
        count(value) as count_reported,
        avg(value) as average,
        case
            when sum(case when numerator is not null and denominator is not null then 1 else 0 end) > 0
                then
                    sum(case when numerator is not null and denominator is not null then numerator end)
                    / nullif(sum(case when numerator is not null and denominator is not null then denominator end), 0)
                    * max(ratio_scale)
        end as pooled_rate
    from neighbour_values
    group by la_code, kpi_id, period_key, grouping_kind

)

select
    la_code,
    kpi_id,
    period_key,
    max(case when grouping_kind = 'current' then vintage end) as sn_vintage,
    max(case when grouping_kind = 'current' then groupings_label end) as sn_groupings,
    max(case when grouping_kind = 'current' then group_size end) as sn_group_size,
    max(case when grouping_kind = 'current' then count_reported end) as sn_count_reported,
    max(case when grouping_kind = 'current' then average end) as sn_average,
    max(case when grouping_kind = 'current' then pooled_rate end) as sn_pooled_rate,
    max(case when grouping_kind = 'in_force' then vintage end) as sn_vintage_in_force,
    max(case when grouping_kind = 'in_force' then group_size end) as sn_group_size_in_force,
    max(case when grouping_kind = 'in_force' then count_reported end) as sn_count_in_force,
    max(case when grouping_kind = 'in_force' then average end) as sn_average_in_force,
    max(case when grouping_kind = 'in_force' then pooled_rate end) as sn_pooled_rate_in_force
from aggregated
group by la_code, kpi_id, period_key
