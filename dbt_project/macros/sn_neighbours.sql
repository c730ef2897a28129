{#- The statistical neighbours of each period's chosen vintage (`period_vintages`: period_key, vintage),
    with LAs and neighbours keyed by their current code, as the KPI values are. The one statement of
    the lookup behind both conventions: int_sn_neighbours_current and int_sn_neighbours_in_force. -#}
{% macro neighbours_of_period_vintages(period_vintages) -%}
    select
        period_vintages.period_key,
        neighbours.vintage,
        neighbours.groupings_label,
        coalesce(la.current_la_code, neighbours.la_code) as la_code,
        neighbours.neighbour_rank,
        coalesce(neighbour.current_la_code, neighbours.neighbour_la_code) as neighbour_la_code
    from {{ period_vintages }} as period_vintages
    inner join {{ ref('stg_reference__statistical_neighbours') }} as neighbours
        on period_vintages.vintage = neighbours.vintage
    left join {{ ref('stg_reference__local_authorities') }} as la
        on neighbours.la_code = la.la_code
    left join {{ ref('stg_reference__local_authorities') }} as neighbour
        on neighbours.neighbour_la_code = neighbour.la_code
{%- endmacro %}
