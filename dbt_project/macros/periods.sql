{#- Periods are typed. Every staging model describes a period by its type and
    the year it starts in (plus the month for monthly data); period_columns() derives the rest:

    | period_type      | period_key | period_label | starts      | ends            |
    | calendar_year    | 2024       | 2024         | 1 January   | 31 December     |
    | academic_year    | 202324     | 2023/24      | 1 September | 31 August       |
    | financial_year   | FY202324   | FY 2023-24   | 1 April     | 31 March        |
    | january_snapshot | JAN2025    | January 2025 | 1 January   | 31 January      |
    | month            | 2025-03    | 2025-03      | 1st         | end of month    |

    period_seq numbers consecutive periods of one type (the year, or year * 12 + month), so
    "previous consecutive period" is period_seq - 1. -#}

{% macro period_columns(period_type, period_year, period_month='null') -%}
    {%- set y = 'cast(' ~ period_year ~ ' as integer)' -%}
    {%- set ys = 'cast(' ~ y ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- set ny = 'cast(' ~ y ~ ' + 1 as ' ~ dbt.type_string() ~ ')' -%}
    {%- set mm = 'lpad(cast(cast(' ~ period_month ~ ' as integer) as ' ~ dbt.type_string() ~ '), 2, \'0\')' -%}
    case {{ period_type }}
        when 'calendar_year' then {{ ys }}
        when 'academic_year' then {{ ys }} || substr({{ ny }}, 3, 2)
        when 'financial_year' then 'FY' || {{ ys }} || substr({{ ny }}, 3, 2)
        when 'january_snapshot' then 'JAN' || {{ ys }}
        when 'month' then {{ ys }} || '-' || {{ mm }}
    end as period_key,
    {{ period_type }} as period_type,
    case {{ period_type }}
        when 'calendar_year' then {{ ys }}
        when 'academic_year' then {{ ys }} || '/' || substr({{ ny }}, 3, 2)
        when 'financial_year' then 'FY ' || {{ ys }} || '-' || substr({{ ny }}, 3, 2)
        when 'january_snapshot' then 'January ' || {{ ys }}
        when 'month' then {{ ys }} || '-' || {{ mm }}
    end as period_label,
    cast(case {{ period_type }}
        when 'calendar_year' then {{ ys }} || '-01-01'
        when 'academic_year' then {{ ys }} || '-09-01'
        when 'financial_year' then {{ ys }} || '-04-01'
        when 'january_snapshot' then {{ ys }} || '-01-01'
        when 'month' then {{ ys }} || '-' || {{ mm }} || '-01'
    end as date) as period_start,
    cast(case {{ period_type }}
        when 'calendar_year' then {{ ys }} || '-12-31'
        when 'academic_year' then {{ ny }} || '-08-31'
        when 'financial_year' then {{ ny }} || '-03-31'
        when 'january_snapshot' then {{ ys }} || '-01-31'
        when 'month' then cast({{ dbt.last_day("cast(" ~ ys ~ " || '-' || " ~ mm ~ " || '-01' as date)", 'month') }} as {{ dbt.type_string() }})
    end as date) as period_end,
    case {{ period_type }}
        when 'month' then {{ y }} * 12 + cast({{ period_month }} as integer)
        else {{ y }}
    end as period_seq
{%- endmacro %}


{#- Period type and start year of an EES tidy file's time_period / time_identifier
    (e.g. 2024 + "Calendar year", 202324 + "Academic year"). A source whose academic-year
    figures are a January census count (the EHC plan caseload) passes january_snapshot=true:
    202425 then means January 2025. Emits period_type_raw and period_year_raw. -#}
{% macro ees_period_type_and_year(time_period, time_identifier, january_snapshot=false) -%}
    case
        when lower({{ time_identifier }}) = 'calendar year' then 'calendar_year'
        {%- if january_snapshot %}
        when lower({{ time_identifier }}) = 'academic year' then 'january_snapshot'
        {%- else %}
        when lower({{ time_identifier }}) = 'academic year' then 'academic_year'
        {%- endif %}
        when lower({{ time_identifier }}) = 'financial year' then 'financial_year'
    end as period_type_raw,
    {{ safe_cast_integer('substr(' ~ time_period ~ ', 1, 4)') }}
    {%- if january_snapshot %} + case when lower({{ time_identifier }}) = 'academic year' then 1 else 0 end{% endif %}
        as period_year_raw
{%- endmacro %}


{#- The geography of an EES tidy row: level (england / region / la) and its ONS code. Some files
    publish Inner and Outer London as "Regional" rows under London's code; a regional row counts as
    the region only when its name is the region's (region_is_named_as_itself), else it is a
    sub-region. -#}
{% macro ees_geography(row, region_is_named_as_itself) -%}
    case {{ row }}.geographic_level
        when 'National' then 'england'
        when 'Regional' then case when {{ region_is_named_as_itself }} then 'region' else 'sub_region' end
        when 'Local authority' then 'la'
    end as geo_level,
    case {{ row }}.geographic_level
        when 'National' then coalesce({{ row }}.country_code, '{{ var("england_code") }}')
        when 'Regional' then {{ row }}.region_code
        when 'Local authority' then {{ row }}.new_la_code
    end as geo_code,
    {{ row }}.new_la_code as la_code,
    {{ row }}.region_code
{%- endmacro %}


{#- The first day of the period a period key names (see period_columns for the key formats). -#}
{% macro period_start_from_key(period_key) -%}
    cast(case
        when {{ period_key }} like 'FY%' then substr({{ period_key }}, 3, 4) || '-04-01'
        when {{ period_key }} like 'JAN%' then substr({{ period_key }}, 4, 4) || '-01-01'
        when length({{ period_key }}) = 6 then substr({{ period_key }}, 1, 4) || '-09-01'
        when length({{ period_key }}) = 7 then {{ period_key }} || '-01'
        when length({{ period_key }}) = 4 then {{ period_key }} || '-01-01'
    end as date)
{%- endmacro %}
