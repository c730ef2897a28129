{#- Every column-level check of one model (or seed) in one data test, so one dbt node per model
    instead of one per check (most of a data test's time is dbt's own per-node work, not the query):
      not_empty: true                      the model has rows
      not_null: [column, ...]              each column is filled in on every row
      unique: [column, ...]                no two rows share a value of the column (NULL passes, as
                                           dbt's unique)
      unique_combinations: [[column, ...]] no two rows share the same values of all these columns
                                           (NULLs compared as values)
      accepted_values: {column: [values]}  the column holds only these values (NULL passes, as dbt's
                                           accepted_values: its values grouped, then compared)
      relationships: [{column, to, field}] every value of the column (not NULL) is a `field` of the
                                           model `to` (a ref()), as dbt's relationships
    The test returns one row per check that fails: the kind of check, the column(s), how many rows
    break it and a sentence saying so (`problem`, which the dbt runner quotes when the test fails,
    e.g. "la_name is null on 2 row(s)"). A sentence names columns, the accepted values from the YAML
    and a count, never a value found in the data. A check with a config of its own (a `where`,
    another severity) is a model_checks test of its own. Portable SQL only (dbt.concat,
    dbt.type_string, `having` without `group by`): the same test compiles on Spark. -#}
{% test model_checks(model, not_empty=false, not_null=[], unique=[], unique_combinations=[], accepted_values={},
                     relationships=[]) %}
{%- set text = dbt.type_string() %}
{%- set branches = [] %}
{%- set scanned = not_empty or not_null %}
{%- if scanned %}
{#- the row count and every required column's nulls in one scan -#}
{%- set counted -%}
    select
        count(*) as n_rows
    {%- for column in not_null %},
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}
    {%- endfor %}
    from {{ model }}
{%- endset %}
{%- endif %}
{%- if not_empty %}
{%- do branches.append(
"select 'not_empty' as check_kind, cast(null as " ~ text ~ ") as column_name, n_rows as failing_rows,
    'the table is empty' as problem
from counted
where n_rows = 0") %}
{%- endif %}
{%- for column in not_null %}
{%- do branches.append(
"select 'not_null' as check_kind, '" ~ column ~ "' as column_name, null_rows_" ~ loop.index ~ " as failing_rows,
    " ~ dbt.concat(["'" ~ column ~ " is null on '", "cast(null_rows_" ~ loop.index ~ " as " ~ text ~ ")", "' row(s)'"]) ~ " as problem
from counted
where null_rows_" ~ loop.index ~ " > 0") %}
{%- endfor %}
{%- set keys = [] %}
{%- for column in unique or [] %}{% do keys.append([column]) %}{% endfor %}
{%- for columns in keys + (unique_combinations or []) %}
{%- set is_unique = loop.index <= keys | length %}
{%- set listed = columns | join(", ") %}
{%- set sentence = (listed ~ " is not unique on ") if is_unique else ("the combination " ~ listed ~ " is not unique on ") %}
{%- do branches.append(
"select '" ~ ("unique" if is_unique else "unique_combination") ~ "' as check_kind, '" ~ listed ~ "' as column_name,
    sum(n_rows) as failing_rows,
    " ~ dbt.concat(["'" ~ sentence ~ "'", "cast(sum(n_rows) as " ~ text ~ ")", "' row(s)'"]) ~ " as problem
from (
    select " ~ listed ~ ", count(*) as n_rows
    from " ~ model ~ (("
    where " ~ columns[0] ~ " is not null") if is_unique else "") ~ "
    group by " ~ listed ~ "
    having count(*) > 1
) as repeated
having count(*) > 0") %}
{%- endfor %}
{%- for column, values in (accepted_values or {}).items() %}
{%- set listed = values | join(", ") | replace("'", "''") %}
{%- set literals = [] %}
{%- for value in values %}{% do literals.append("'" ~ (value | string | replace("'", "''")) ~ "'") %}{% endfor %}
{%- do branches.append(
"select 'accepted_values' as check_kind, '" ~ column ~ "' as column_name, sum(value_rows) as failing_rows,
    " ~ dbt.concat(["'" ~ column ~ " is not one of " ~ listed ~ " on '", "cast(sum(value_rows) as " ~ text ~ ")", "' row(s)'"]) ~ " as problem
from (
    select " ~ column ~ " as value_field, count(*) as value_rows
    from " ~ model ~ "
    group by " ~ column ~ "
) as grouped
where value_field not in (" ~ literals | join(", ") ~ ")
having count(*) > 0") %}
{%- endfor %}
{%- for relation in relationships or [] %}
{%- do branches.append(
"select 'relationships' as check_kind, '" ~ relation.column ~ "' as column_name, count(*) as failing_rows,
    " ~ dbt.concat(["'" ~ relation.column ~ " is not a " ~ relation.field ~ " of " ~ relation.to.identifier ~ " on '",
                    "cast(count(*) as " ~ text ~ ")", "' row(s)'"]) ~ " as problem
from (
    select " ~ relation.column ~ " as child_key from " ~ model ~ " where " ~ relation.column ~ " is not null
) as child
left join (
    select " ~ relation.field ~ " as parent_key from " ~ relation.to ~ "
) as parent
    on child.child_key = parent.parent_key
where parent.parent_key is null
having count(*) > 0") %}
{%- endfor %}
{%- if not branches %}
{{ exceptions.raise_compiler_error("model_checks on " ~ model ~ " lists no check") }}
{%- endif %}
{%- if scanned %}
with counted as (
{{ counted }}
)
{%- endif %}
{{ branches | join("\nunion all\n") }}
{% endtest %}
