{#- Fails when a listed column holds a value outside its accepted values on some row (NULL passes, as
    in dbt's accepted_values): one returned row per such column, with the column, how many rows hold
    another value and a sentence saying so (`problem`, which the dbt runner quotes when the test fails;
    it names the accepted values from the YAML, never a value found). One test per model for all its
    columns with accepted values, not one per column: the same checks, each as dbt's (the column's
    values grouped, then compared with the list), without dbt's per-test overhead.
    columns: {column: [accepted values]}. -#}
{% test accepted_values_columns(model, columns) %}
{%- for column, values in columns.items() %}
select
    '{{ column }}' as column_name,
    sum(value_rows) as failing_rows,
    {{ dbt.concat(["'" ~ column ~ " is not one of " ~ (values | join(", ") | replace("'", "''")) ~ " on '",
                   "cast(sum(value_rows) as " ~ dbt.type_string() ~ ")", "' row(s)'"]) }} as problem
from (
    select
        {{ column }} as value_field,
        count(*) as value_rows
    from {{ model }}
    group by {{ column }}
) as grouped
where value_field not in (
    {%- for value in values %}'{{ value | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
)
having count(*) > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
