-- The periods KPI values refer to, typed, with the previous consecutive
-- period of the same type. Published periods and the local monthly ones (int_kpi_values__local).
with periods as (

    select distinct
        period_key,
        period_type,
        period_label,
        period_start,
        period_end,
        period_seq
    from {{ ref('int_kpi_values') }}
    union all
    -- the local monthly periods (2025-03, R12-2025-03, AYTD-2025-03, END-2025-03, AT-2025-03-31)
    -- not already published; a provisional month cut at the extract date ends on that date
    select
        local_values.period_key,
        min(local_values.period_type) as period_type,
        min(local_values.period_label) as period_label,
        min(local_values.period_start) as period_start,
        max(local_values.period_end) as period_end,
        min(local_values.period_seq) as period_seq
    from {{ ref('int_kpi_values__local') }} as local_values
    where local_values.period_key not in (select published.period_key from {{ ref('int_kpi_values') }} as published)
    group by local_values.period_key

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
