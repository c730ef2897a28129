{#- The LA that supplied the local extracts: var local_la_code (SEND_SCORECARD_LA, a code, a 3-digit
    LA number or a name), resolved to its current code through the LA reference. There is no default:
    without it the local figures belong to no LA and the scorecard shows the published figures only. -#}
{% macro local_la_code() -%}
    {%- set wanted = var('local_la_code', '') | string | trim | replace("'", "''") -%}
    (
        select min(reference.current_la_code)
        from {{ ref('stg_reference__local_authorities') }} as reference
        where
            '{{ wanted }}' <> ''
            and (
                lower(reference.la_code) = lower('{{ wanted }}')
                or reference.old_la_code = '{{ wanted }}'
                or lower(reference.la_name) = lower('{{ wanted }}')
            )
    )
{%- endmacro %}
