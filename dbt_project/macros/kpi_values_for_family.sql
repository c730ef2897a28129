{#- One family's KPI values from the mapped source cells (int_kpi_source_values), one row per KPI,
    source, geography and period:

    - value components are summed (S2 = SEN support % + EHC plan %); numerator and denominator
      components likewise (S13_pct = three placement types / all plans);
    - where a numerator and denominator are both usable the value is recomputed from them
      (num / den * ratio_scale, rounded to the catalogue's decimal places), else the published
      value is kept as published;
    - the status is the worst status of the inputs used (value_statuses.csv orders them), so a KPI
      computed from a suppressed input is suppressed; a missing component makes the value missing;
    - a numerator or denominator is NULL unless every component of it is usable (never a partial sum).

    The current cells only (is_current); with by_release=true, every release's value instead (one row
    per KPI, source, geography, period and release_order; family none = every family), for the
    revisions mart. -#}
{% macro kpi_values_for_family(family, by_release=false) -%}
with mapping as (

    select
        measures.kpi_id,
        measures.source,
        measures.measure,
        measures.role,
        measures.breakdown,
        measures.precedence,
        measures.ratio_scale,
        catalogue.decimal_places
    from {{ ref('kpi_source_measures') }} as measures
    inner join {{ ref('kpi_catalogue') }} as catalogue
        on measures.kpi_id = catalogue.kpi_id
    {%- if family is not none %}
    where catalogue.family = '{{ family }}'
    {%- endif %}

),

expected_components as (

    select
        kpi_id,
        source,
        sum(case when role = 'value' then 1 else 0 end) as n_value_expected,
        sum(case when role = 'numerator' then 1 else 0 end) as n_numerator_expected,
        sum(case when role = 'denominator' then 1 else 0 end) as n_denominator_expected
    from mapping
    group by kpi_id, source

),

components as (

    select
        mapping.kpi_id,
        mapping.source,
        mapping.role,
        mapping.precedence,
        mapping.ratio_scale,
        mapping.decimal_places,
        mapping.measure,
        cells.geo_level,
        cells.geo_code,
        cells.period_key,
        cells.period_type,
        cells.period_label,
        cells.period_start,
        cells.period_end,
        cells.period_seq,
        cells.value,
        cells.value_status,
        cells.release,
        cells.release_order,
        statuses.combine_priority,
        statuses.has_value
    from mapping
    inner join {{ ref('int_kpi_source_values') }} as cells
        on
            mapping.source = cells.source
            and mapping.measure = cells.measure
            and mapping.breakdown = cells.breakdown
    inner join {{ ref('value_statuses') }} as statuses
        on cells.value_status = statuses.value_status
    {%- if not by_release %}
    where cells.is_current
    {%- endif %}

),

{%- set roles = ['value', 'numerator', 'denominator'] %}

aggregated as (

    select
        kpi_id,
        source,
        geo_level,
        geo_code,
        period_key,
        {%- if by_release %}
        release_order,
        {%- endif %}
        max(period_type) as period_type,
        max(period_label) as period_label,
        max(period_start) as period_start,
        max(period_end) as period_end,
        max(period_seq) as period_seq,
        max(precedence) as precedence,
        max(ratio_scale) as ratio_scale,
        max(decimal_places) as decimal_places,
        max(release) as release,
        {% for role in roles -%}
        sum(case when role = '{{ role }}' then value end) as {{ role }}_sum,
        sum(case when role = '{{ role }}' then 1 else 0 end) as n_{{ role }}_found,
        sum(case when role = '{{ role }}' and has_value then 1 else 0 end) as n_{{ role }}_usable,
        min(case when role = '{{ role }}' then combine_priority end) as {{ role }}_priority,
        {% endfor -%}
        min(combine_priority) as any_priority
    from components
    group by kpi_id, source, geo_level, geo_code, period_key{{ ', release_order' if by_release }}

),

assessed as (

    select
        aggregated.*,
        expected_components.n_value_expected > 0
        and aggregated.n_value_usable = expected_components.n_value_expected
            as has_published_value,
        expected_components.n_numerator_expected > 0
        and aggregated.n_numerator_usable = expected_components.n_numerator_expected
        and expected_components.n_denominator_expected > 0
        and aggregated.n_denominator_usable = expected_components.n_denominator_expected
        and aggregated.denominator_sum <> 0
            as can_recompute,
        expected_components.n_numerator_expected > 0 as has_ratio_inputs,
        case
            when expected_components.n_numerator_expected > 0
                then
                    case
                        when aggregated.numerator_priority < aggregated.denominator_priority
                            then aggregated.numerator_priority
                        else aggregated.denominator_priority
                    end
        end as ratio_priority,
        aggregated.n_value_found < expected_components.n_value_expected
        or aggregated.n_numerator_found < expected_components.n_numerator_expected
        or aggregated.n_denominator_found < expected_components.n_denominator_expected
            as has_missing_component,
        expected_components.n_value_expected,
        -- a suppressed or unavailable component makes a summed numerator or denominator unknown,
        -- never a partial sum (so the pooled SN rate leaves that LA out)
        aggregated.n_numerator_usable = expected_components.n_numerator_expected as numerator_complete,
        aggregated.n_denominator_usable = expected_components.n_denominator_expected as denominator_complete
    from aggregated
    inner join expected_components
        on
            aggregated.kpi_id = expected_components.kpi_id
            and aggregated.source = expected_components.source

),

valued as (

    select
        *,
        case
            when can_recompute
                then {{ round_to('numerator_sum / denominator_sum * ratio_scale', 'decimal_places') }}
            when has_published_value and n_value_expected > 1
                then {{ round_to('value_sum', 'decimal_places') }}
            when has_published_value then value_sum
        end as kpi_value,
        case
            when can_recompute then ratio_priority
            when has_published_value then value_priority
            -- no usable figure: the worst status of what was published
            else any_priority
        end as status_priority
    from assessed

)

select
    valued.kpi_id,
    valued.source,
    valued.geo_level,
    valued.geo_code,
    valued.period_key,
    valued.period_type,
    valued.period_label,
    valued.period_start,
    valued.period_end,
    valued.period_seq,
    cast(valued.kpi_value as {{ type_double() }}) as value,
    case when valued.has_ratio_inputs and valued.numerator_complete then valued.numerator_sum end as numerator,
    case when valued.has_ratio_inputs and valued.denominator_complete then valued.denominator_sum end as denominator,
    case when valued.has_published_value then valued.value_sum end as published_value,
    case
        when valued.kpi_value is null and valued.has_missing_component then 'missing'
        when valued.kpi_value is null and statuses.has_value then 'missing'
        else statuses.value_status
    end as value_status,
    valued.can_recompute as is_recomputed,
    valued.ratio_scale,
    valued.precedence,
    valued.release
    {%- if by_release %},
    valued.release_order
    {%- endif %}
from valued
inner join {{ ref('value_statuses') }} as statuses
    on valued.status_priority = statuses.combine_priority
{%- endmacro %}
