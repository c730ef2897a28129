{#- Direction of travel of `current` against `previous`, polarity-aware:
    improving / declining / no change within the unit's no-change threshold; for Context measures
    increased / decreased. Expects polarity and no_change_threshold columns in scope. -#}
{% macro direction_of_travel(current, previous) -%}
    case
        when {{ current }} is null or {{ previous }} is null then null
        when abs({{ current }} - {{ previous }}) <= coalesce(no_change_threshold, 0) + 1e-9
            then 'no change'
        when polarity = 'High'
            then case when {{ current }} > {{ previous }} then 'improving' else 'declining' end
        when polarity = 'Low'
            then case when {{ current }} < {{ previous }} then 'improving' else 'declining' end
        when {{ current }} > {{ previous }} then 'increased'
        else 'decreased'
    end
{%- endmacro %}
