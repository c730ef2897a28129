{#- The few things that differ between warehouses, behind adapter.dispatch.
    The default implementations are ANSI SQL (PostgreSQL, Snowflake, Redshift); DuckDB has its own. -#}

{#- Continuous (type 7, linear interpolation) quantile of expr at fraction p, as an aggregate. -#}
{% macro quantile_cont(expr, p) -%}
    {{ return(adapter.dispatch('quantile_cont', 'send_scorecard')(expr, p)) }}
{%- endmacro %}

{% macro default__quantile_cont(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__quantile_cont(expr, p) -%}
    quantile_cont({{ expr }}, {{ p }})
{%- endmacro %}


{#- A number as text with a fixed number of decimal places and thousands separators
    (e.g. 7.8, 1,234, -1.00), for the words of a RAG reason. dp is an integer expression. -#}
{% macro format_number(value, dp) -%}
    {{ return(adapter.dispatch('format_number', 'send_scorecard')(value, dp)) }}
{%- endmacro %}

{% macro default__format_number(value, dp) -%}
    trim(to_char({{ value }}, case {{ dp }}
        when 0 then 'FM999,999,999,990'
        when 1 then 'FM999,999,999,990.0'
        when 2 then 'FM999,999,999,990.00'
        else 'FM999,999,999,990.000' end))
{%- endmacro %}

{% macro duckdb__format_number(value, dp) -%}
    format('{:,.' || cast({{ dp }} as varchar) || 'f}', cast({{ value }} as double))
{%- endmacro %}


{#- An 8-byte floating point type. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'send_scorecard')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}


{#- A KPI value as the scorecard writes it: 7.8%, 1,234, 15.2. -#}
{% macro format_kpi_value(value, unit, dp) -%}
    {{ format_number(value, dp) }} || case when {{ unit }} = 'percent' then '%' else '' end
{%- endmacro %}


{#- Text to integer, NULL where the text is not a number. -#}
{% macro safe_cast_integer(expr) -%}
    {{ return(adapter.dispatch('safe_cast_integer', 'send_scorecard')(expr)) }}
{%- endmacro %}

{% macro default__safe_cast_integer(expr) -%}
    {{ dbt.safe_cast(expr, api.Column.translate_type('integer')) }}
{%- endmacro %}

{% macro duckdb__safe_cast_integer(expr) -%}
    try_cast({{ expr }} as integer)
{%- endmacro %}


{#- A number rounded to dp decimal places (half away from zero); dp may be a column. -#}
{% macro round_to(value, dp) -%}
    {{ return(adapter.dispatch('round_to', 'send_scorecard')(value, dp)) }}
{%- endmacro %}

{% macro default__round_to(value, dp) -%}
    cast(round(cast({{ value }} as numeric), {{ dp }}) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__round_to(value, dp) -%}
    round({{ value }}, {{ dp }})
{%- endmacro %}
