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

period_vintages as (

    select
        period_key,
        vintage
    from candidate_vintages
    where vintage_order = 1

)

{{ neighbours_of_period_vintages('period_vintages') }}
