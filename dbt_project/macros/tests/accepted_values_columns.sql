{#- Fails when a listed column holds a value outside its accepted values on some row (NULL passes, as
    in dbt's accepted_values): one returned row per such column, with the column, how many rows hold
    another value and a sentence saying so (`problem`, which the dbt runner quotes when the test fails;
    it names the accepted values from the YAML, never a value found). One test per model for all its
    columns with accepted values, not one per column: the same checks in one scan, without dbt's
    per-test overhead. columns: {column: [accepted values]}. -#}
{% test accepted_values_columns(model, columns) %}
with counted as (
    select
    {%- for column, values in columns.items() %}
        sum(case when {{ column }} not in (
            {%- for value in values %}'{{ value | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
        ) then 1 else 0 end) as outside_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column, values in columns.items() %}
select
    '{{ column }}' as column_name,
    outside_rows_{{ loop.index }} as failing_rows,
    {{ dbt.concat(["'" ~ column ~ " is not one of " ~ (values | join(", ") | replace("'", "''")) ~ " on '",
                   "cast(outside_rows_" ~ loop.index ~ " as " ~ dbt.type_string() ~ ")", "' row(s)'"]) }} as problem
from counted
where outside_rows_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
