-- Statistical-neighbour benchmarks (the LAIT method): for each LA, benchmarked KPI and period, the
-- simple mean of its neighbours' values, leaving out neighbours without a value, how many of them
-- reported, and where numerators and denominators exist the pooled rate
-- (sum of numerators / sum of denominators * scale) over the neighbours that have both.
with la_values as (

    select * from {{ ref('int_kpi_la_values') }}

),

neighbour_values as (

    select
        la_values.la_code,
        la_values.kpi_id,
        la_values.period_key,
        neighbours.vintage,
        neighbours.neighbour_la_code,
        neighbour.value,
        neighbour.numerator,
        neighbour.denominator,
        neighbour.ratio_scale
    from la_values
    inner join {{ ref('int_sn_neighbours_in_force') }} as neighbours
        on
            la_values.la_code = neighbours.la_code
            and la_values.period_key = neighbours.period_key
    left join la_values as neighbour
        on
            neighbours.neighbour_la_code = neighbour.la_code
            and la_values.kpi_id = neighbour.kpi_id
            and la_values.period_key = neighbour.period_key
    where la_values.is_benchmarked

)

select
    la_code,
    kpi_id,
    period_key,
    max(vintage) as sn_vintage,
    count(*) as sn_group_size,
    count(value) as sn_count_reported,
    avg(value) as sn_average,
    case
        when sum(case when numerator is not null and denominator is not null then 1 else 0 end) > 0
            then
                sum(case when numerator is not null and denominator is not null then numerator end)
                / nullif(sum(case when numerator is not null and denominator is not null then denominator end), 0)
                * max(ratio_scale)
    end as sn_pooled_rate
from neighbour_values
group by la_code, kpi_id, period_key
