-- For every period with KPI data and every LA, the statistical neighbours of the current groupings
-- (the vintage published last, today the May 2025 groupings). LAIT applies the current groupings to
-- every period and councils copy LAIT's figure, so the headline sn_average uses them (design.md
-- section 4); int_sn_neighbours_in_force has the groupings in force for each period beside them.
with periods as (

    select distinct period_key
    from {{ ref('int_kpi_values') }}

),

neighbours as (

    select * from {{ ref('stg_reference__statistical_neighbours') }}

),

current_vintage as (

    select max(valid_from) as valid_from
    from neighbours

),

local_authorities as (

    select
        la_code,
        current_la_code
    from {{ ref('stg_reference__local_authorities') }}

)

-- LAs by their current code, as the KPI values are
select
    periods.period_key,
    neighbours.vintage,
    neighbours.groupings_label,
    coalesce(la.current_la_code, neighbours.la_code) as la_code,
    neighbours.neighbour_rank,
    coalesce(neighbour.current_la_code, neighbours.neighbour_la_code) as neighbour_la_code
from periods
cross join current_vintage
inner join neighbours
    on current_vintage.valid_from = neighbours.valid_from
left join local_authorities as la
    on neighbours.la_code = la.la_code
left join local_authorities as neighbour
    on neighbours.neighbour_la_code = neighbour.la_code
