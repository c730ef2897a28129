{#- Fails with the duplicated key values when a combination of columns is not unique (the project
    has no dbt_utils: it installs offline). Each returned row is a duplicated key and its count. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns_csv = combination_of_columns | join(', ') %}
select
    {{ columns_csv }},
    count(*) as n_rows
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1
{% endtest %}
