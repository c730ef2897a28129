-- For every period with KPI data and every LA, the statistical neighbours in force: the latest
-- vintage published on or before the period's end, or the earliest vintage for periods before any
-- was published.
with periods as (

    select distinct
        period_key,
        period_end
    from {{ ref('int_kpi_values') }}

),

vintages as (

    select distinct
        vintage,
        valid_from
    from {{ ref('stg_reference__statistical_neighbours') }}

),

candidate_vintages as (

    select
        periods.period_key,
        vintages.vintage,
        vintages.valid_from,
        row_number() over (
            partition by periods.period_key
            order by
                case when vintages.valid_from <= periods.period_end then 0 else 1 end,
                case when vintages.valid_from <= periods.period_end then vintages.valid_from end desc nulls last,
                vintages.valid_from nulls last
        ) as vintage_order
    from periods
    cross join vintages

),

local_authorities as (

    select
        la_code,
        current_la_code
    from {{ ref('stg_reference__local_authorities') }}

)

-- LAs by their current code, as the KPI values are
select
    candidate_vintages.period_key,
    candidate_vintages.vintage,
    coalesce(la.current_la_code, neighbours.la_code) as la_code,
    neighbours.neighbour_rank,
    coalesce(neighbour.current_la_code, neighbours.neighbour_la_code) as neighbour_la_code
from candidate_vintages
inner join {{ ref('stg_reference__statistical_neighbours') }} as neighbours
    on candidate_vintages.vintage = neighbours.vintage
left join local_authorities as la
    on neighbours.la_code = la.la_code
left join local_authorities as neighbour
    on neighbours.neighbour_la_code = neighbour.la_code
where candidate_vintages.vintage_order = 1
