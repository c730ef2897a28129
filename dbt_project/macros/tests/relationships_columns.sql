{#- Fails when a listed column holds a value (not NULL) that the field of the model it refers to does
    not, as dbt's relationships test: one returned row per such column, with the column, how many rows
    have no match and a sentence saying so (`problem`, which the dbt runner quotes when the test fails;
    it names columns and a count, never a value). One test per model for all its references, not one
    per column, without dbt's per-test overhead. relations: a list of {column, to (a ref()), field}. -#}
{% test relationships_columns(model, relations) %}
{%- for relation in relations %}
select
    '{{ relation.column }}' as column_name,
    count(*) as failing_rows,
    {{ dbt.concat(["'" ~ relation.column ~ " is not a " ~ relation.field ~ " of " ~ relation.to.identifier ~ " on '",
                   "cast(count(*) as " ~ dbt.type_string() ~ ")", "' row(s)'"]) }} as problem
from {{ model }} as child
left join (
    select {{ relation.field }} as parent_key from {{ relation.to }}
) as parent
    on child.{{ relation.column }} = parent.parent_key
where child.{{ relation.column }} is not null and parent.parent_key is null
having count(*) > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
