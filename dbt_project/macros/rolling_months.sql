{#- Each month's figure and, where all 12 of its months are present, the rolling 12 months ending in it
    (period_start the first day of the month 11 months earlier, period_end the month's ref), from a
    relation with one row per month: `columns` (identifying the series), month, ref, numerator and
    denominator. One statement for every local monthly series (casework extracts and SEN2). -#}
{% macro month_and_rolling_12_months(monthly, columns) -%}
    {%- set keys = columns | join(', ') -%}
    select
        {{ keys }},
        month,
        'month' as period_type,
        month as period_start,
        ref as period_end,
        numerator,
        denominator
    from {{ monthly }}
    union all
    select
        {{ keys }},
        month,
        'rolling_12_months' as period_type,
        {{ add_months('month', -11) }} as period_start,
        ref as period_end,
        cast(numerator_12 as bigint) as numerator,
        cast(denominator_12 as bigint) as denominator
    from (
        select
            *,
            sum(numerator) over twelve as numerator_12,
            sum(denominator) over twelve as denominator_12,
            count(*) over twelve as months_in_window
        from {{ monthly }}
        window twelve as (partition by {{ keys }} order by month rows between 11 preceding and current row)
    ) as windowed
    where months_in_window = 12
{%- endmacro %}
