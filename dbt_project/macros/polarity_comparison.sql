{#- How `value` stands against `comparator` from the reader's side of polarity: better / worse /
    level (NULL when there is no comparator). Expects a polarity column in scope. -#}
{% macro polarity_comparison(value, comparator) -%}
    case
        when {{ comparator }} is null then null
        when abs({{ value }} - {{ comparator }}) <= 1e-9 then 'level'
        when
            (polarity = 'Low' and {{ value }} < {{ comparator }})
            or (polarity <> 'Low' and {{ value }} > {{ comparator }})
            then 'better'
        else 'worse'
    end
{%- endmacro %}
