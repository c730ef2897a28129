{#- The few things that differ between warehouses, behind adapter.dispatch.
    The default implementations are ANSI SQL (PostgreSQL, Snowflake, Redshift); DuckDB and Spark
    (dbt-spark locally, dbt-databricks on Databricks) have their own. Models use these macros, or
    dbt's own cross-database macros (dbt.type_string(), dbt.last_day()), never an engine's dialect:
    tests/test_spark_parity.py builds the marts on both engines and compares every row. -#}

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

{#- Spark's percentile is exact linear interpolation (R type 7), as quantile_cont; percentile_approx
    would not be. -#}
{% macro spark__quantile_cont(expr, p) -%}
    percentile({{ expr }}, {{ p }})
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

{#- Spark's format_number rounds the exact binary value half-to-even, as DuckDB's format does. -#}
{% macro spark__format_number(value, dp) -%}
    format_number(cast({{ value }} as double), cast({{ dp }} as int))
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

{% macro spark__type_double() -%}
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

{% macro spark__safe_cast_integer(expr) -%}
    try_cast({{ expr }} as int)
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

{#- DuckDB rounds a double as round(value * 10^dp) / 10^dp (half away from zero); Spark's
    round(value, dp) rounds the shortest decimal text instead (1.005 -> 1.01 where DuckDB gives 1.0)
    and needs a constant dp, so the same arithmetic is written out. -#}
{% macro spark__round_to(value, dp) -%}
    (round(cast({{ value }} as double) * power(10, {{ dp }}), 0) / power(10, {{ dp }}))
{%- endmacro %}


{#- Whole days from start_date to end_date (end - start), as an integer. -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'send_scorecard')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}


{#- A date n days (n an integer expression, may be negative) after a date, as a date. -#}
{% macro add_days(date_expr, n) -%}
    {{ return(adapter.dispatch('add_days', 'send_scorecard')(date_expr, n)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, n) -%}
    cast({{ date_expr }} + ({{ n }}) * interval '1 day' as date)
{%- endmacro %}

{% macro duckdb__add_days(date_expr, n) -%}
    cast({{ date_expr }} + to_days(cast({{ n }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_days(date_expr, n) -%}
    date_add({{ date_expr }}, {{ n }})
{%- endmacro %}


{#- A date n calendar months after a date (the day clamped to the month's end), as a date. -#}
{% macro add_months(date_expr, n) -%}
    {{ return(adapter.dispatch('add_months', 'send_scorecard')(date_expr, n)) }}
{%- endmacro %}

{% macro default__add_months(date_expr, n) -%}
    cast({{ date_expr }} + ({{ n }}) * interval '1 month' as date)
{%- endmacro %}

{% macro duckdb__add_months(date_expr, n) -%}
    cast({{ date_expr }} + to_months(cast({{ n }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_months(date_expr, n) -%}
    add_months({{ date_expr }}, {{ n }})
{%- endmacro %}


{#- The first day of a date's month, as a date. -#}
{% macro month_start(date_expr) -%}
    {{ return(adapter.dispatch('month_start', 'send_scorecard')(date_expr)) }}
{%- endmacro %}

{% macro default__month_start(date_expr) -%}
    cast(date_trunc('month', {{ date_expr }}) as date)
{%- endmacro %}

{% macro spark__month_start(date_expr) -%}
    trunc({{ date_expr }}, 'MM')
{%- endmacro %}


{#- One row per month from first_month to last_month (both first days of a month), as the select
    expression of a query over a one-row relation holding them: `select {{ month_series('a', 'b') }}
    as month from bounds`. No rows when either is NULL. -#}
{% macro month_series(first_month, last_month) -%}
    {{ return(adapter.dispatch('month_series', 'send_scorecard')(first_month, last_month)) }}
{%- endmacro %}

{% macro default__month_series(first_month, last_month) -%}
    cast(generate_series({{ first_month }}, {{ last_month }}, interval '1 month') as date)
{%- endmacro %}

{% macro duckdb__month_series(first_month, last_month) -%}
    cast(unnest(generate_series({{ first_month }}, {{ last_month }}, interval 1 month)) as date)
{%- endmacro %}

{% macro spark__month_series(first_month, last_month) -%}
    explode(sequence({{ first_month }}, {{ last_month }}, interval 1 month))
{%- endmacro %}


{#- A date as text: 'month' gives 2025-03, 'day' gives 2025-03-31 (ISO 8601). -#}
{% macro date_text(date_expr, precision='day') -%}
    {{ return(adapter.dispatch('date_text', 'send_scorecard')(date_expr, precision)) }}
{%- endmacro %}

{% macro default__date_text(date_expr, precision='day') -%}
    to_char({{ date_expr }}, '{{ "YYYY-MM" if precision == "month" else "YYYY-MM-DD" }}')
{%- endmacro %}

{% macro duckdb__date_text(date_expr, precision='day') -%}
    strftime({{ date_expr }}, '{{ "%Y-%m" if precision == "month" else "%Y-%m-%d" }}')
{%- endmacro %}

{% macro spark__date_text(date_expr, precision='day') -%}
    date_format({{ date_expr }}, '{{ "yyyy-MM" if precision == "month" else "yyyy-MM-dd" }}')
{%- endmacro %}


{#- The texts of a group joined with a separator, in the order of order_by (an aggregate). -#}
{% macro string_agg_ordered(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('string_agg_ordered', 'send_scorecard')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__string_agg_ordered(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}' order by {{ order_by }})
{%- endmacro %}

{#- Spark 4 (Databricks Runtime 16.3+) has the SQL-standard within group form. -#}
{% macro spark__string_agg_ordered(expr, separator, order_by) -%}
    string_agg({{ expr }}, '{{ separator }}') within group (order by {{ order_by }})
{%- endmacro %}


{#- Every match of a regular expression (the common subset of RE2 and Java syntax) replaced. -#}
{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'send_scorecard')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}


{#- Whether text starts with a prefix (both expressions). -#}
{% macro starts_with(expr, prefix) -%}
    {{ return(adapter.dispatch('starts_with', 'send_scorecard')(expr, prefix)) }}
{%- endmacro %}

{% macro default__starts_with(expr, prefix) -%}
    (substr({{ expr }}, 1, length({{ prefix }})) = {{ prefix }})
{%- endmacro %}

{% macro duckdb__starts_with(expr, prefix) -%}
    starts_with({{ expr }}, {{ prefix }})
{%- endmacro %}


{#- Text without the given trailing characters (chars: a literal string of them). -#}
{% macro rtrim_chars(expr, chars) -%}
    {{ return(adapter.dispatch('rtrim_chars', 'send_scorecard')(expr, chars)) }}
{%- endmacro %}

{% macro default__rtrim_chars(expr, chars) -%}
    rtrim({{ expr }}, '{{ chars }}')
{%- endmacro %}

{% macro spark__rtrim_chars(expr, chars) -%}
    trim(trailing '{{ chars }}' from {{ expr }})
{%- endmacro %}
