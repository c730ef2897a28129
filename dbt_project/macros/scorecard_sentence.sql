{#- "(all improving)", "(2 improving, 1 declining)": the trend of a group of rated measures, for
    the board summary. n = measures in the group; the others count them by direction of travel;
    measures without a comparable previous figure are "no previous figure". -#}
{% macro trend_in_words(n, n_improving, n_declining, n_no_change) -%}
    case
        when {{ n }} = 0 then ''
        when {{ n_improving }} = {{ n }} then case when {{ n }} = 1 then ' (improving)' else ' (all improving)' end
        when {{ n_declining }} = {{ n }} then case when {{ n }} = 1 then ' (declining)' else ' (all declining)' end
        when {{ n_no_change }} = {{ n }} then ' (no change)'
        else ' (' || substr(
            case when {{ n_improving }} > 0 then ', ' || cast({{ n_improving }} as {{ dbt.type_string() }}) || ' improving' else '' end
            || case when {{ n_declining }} > 0 then ', ' || cast({{ n_declining }} as {{ dbt.type_string() }}) || ' declining' else '' end
            || case when {{ n_no_change }} > 0 then ', ' || cast({{ n_no_change }} as {{ dbt.type_string() }}) || ' no change' else '' end
            || case when {{ n }} - {{ n_improving }} - {{ n_declining }} - {{ n_no_change }} > 0
                then ', ' || cast({{ n }} - {{ n_improving }} - {{ n_declining }} - {{ n_no_change }} as {{ dbt.type_string() }})
                    || ' no previous figure'
                else '' end,
            3) || ')'
    end
{%- endmacro %}

{#- "1 measure" / "3 measures" -#}
{% macro count_of_measures(n) -%}
    cast({{ n }} as {{ dbt.type_string() }}) || case when {{ n }} = 1 then ' measure' else ' measures' end
{%- endmacro %}
