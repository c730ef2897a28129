-- The periods KPI values refer to, typed (design.md section 3), with the previous consecutive
-- period of the same type.
with periods as (

    select distinct
        period_key,
        period_type,
        period_label,
        period_start,
        period_end,
        period_seq
    from {{ ref('int_kpi_values') }}

)

select
    periods.period_key,
    periods.period_type,
    periods.period_label,
    periods.period_start,
    periods.period_end,
    periods.period_seq,
    previous.period_key as previous_period_key
from periods
left join periods as previous
    on
        periods.period_type = previous.period_type
        and periods.period_seq - 1 = previous.period_seq
