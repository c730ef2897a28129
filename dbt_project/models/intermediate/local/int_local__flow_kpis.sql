-- The casework flows per month and over the rolling 12 months ending in each month (from the
-- first day of the month 11 months earlier to the month's period_end). A rolling window is given
-- only when all 12 of its months lie within the casework months: no partial windows at the start.
with monthly as (

    select
        *,
        sum(numerator) over twelve as numerator_12,
        sum(denominator) over twelve as denominator_12,
        count(*) over twelve as months_in_window
    from {{ ref('int_local__flow_counts') }}
    window twelve as (partition by kpi_id, measure order by month rows between 11 preceding and current row)

)

select
    kpi_id,
    measure,
    unit,
    month,
    'month' as period_type,
    month as period_start,
    ref as period_end,
    numerator,
    denominator
from monthly
union all
select
    kpi_id,
    measure,
    unit,
    month,
    'rolling_12_months' as period_type,
    {{ add_months('month', -11) }} as period_start,
    ref as period_end,
    cast(numerator_12 as bigint) as numerator,
    cast(denominator_12 as bigint) as denominator
from monthly
where months_in_window = 12
