{#- Fails when any of the listed columns is null on some row: one returned row per such column, with
    the column, how many rows lack it and a sentence saying so (`problem`, which the dbt runner quotes
    when the test fails). One test per model for all its required columns, not one per column: the
    same checks in one scan, without dbt's per-test overhead (most of a test's time). -#}
{% test not_null_columns(model, columns) %}
with counted as (
    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column in columns %}
select
    '{{ column }}' as column_name,
    null_rows_{{ loop.index }} as null_rows,
    {{ dbt.concat(["'" ~ column ~ " is null on '", "cast(null_rows_" ~ loop.index ~ " as " ~ dbt.type_string() ~ ")",
                   "' row(s)'"]) }} as problem
from counted
where null_rows_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
