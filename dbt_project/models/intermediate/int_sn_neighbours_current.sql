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

current_vintages as (

    select distinct neighbours.vintage
    from neighbours
    where neighbours.valid_from = (select max(published.valid_from) from neighbours as published)

),

period_vintages as (

    select
        periods.period_key,
        current_vintages.vintage
    from periods
    cross join current_vintages

)

{{ neighbours_of_period_vintages('period_vintages') }}
