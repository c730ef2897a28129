-- Local against published: where a value derived from the LA's monthly casework covers the same
-- period as a published annual figure - the calendar year, i.e. the rolling 12 months ending in a
-- complete December - both are shown with the difference (local - published). S5 and S5_inc (the
-- 20-week measure, against the EHC plans release timeliness table), S9 new plans, S10 requests,
-- S11 mediations and S12 appeals (reconcile_with_published in seeds/local_kpi_measures.csv). The
-- scorecard uses the published figure once it exists.
with local_years as (

    select
        geo_code as la_code,
        kpi_id,
        local_kpi_id,
        measure,
        cast(year(period_end) as varchar) as period_key,
        period_start,
        period_end,
        value as local_value,
        numerator as local_numerator,
        denominator as local_denominator,
        source as local_source
    from {{ ref('int_kpi_values__local') }}
    where
        period_type = 'rolling_12_months'
        and kpi_id in (
            select measures.kpi_id from {{ ref('local_kpi_measures') }} as measures
            where measures.reconcile_with_published
        )
        and month(period_end) = 12
        and day(period_end) = 31

),

published as (

    select
        geo_code,
        kpi_id,
        period_key,
        value,
        numerator,
        denominator,
        value_status,
        source
    from {{ ref('int_kpi_values') }}
    where
        is_preferred
        and geo_level = 'la'
        and period_type = 'calendar_year'

)

select
    local_years.la_code,
    local_years.kpi_id,
    local_years.measure,
    local_years.period_key,
    local_years.period_start,
    local_years.period_end,
    local_years.local_value,
    local_years.local_numerator,
    local_years.local_denominator,
    local_years.local_source,
    published.value as published_value,
    published.numerator as published_numerator,
    published.denominator as published_denominator,
    published.value_status as published_value_status,
    published.source as published_source,
    round(local_years.local_value - published.value, 1) as difference,
    case
        when published.value is not null then 'published'
        else 'provisional / local'
    end as scorecard_uses,
    case
        when published.value is not null
            then
                'Published ' || local_years.period_key || ' figure ' || cast(published.value as varchar)
                || ' (' || published.source || '); the casework gives ' || cast(local_years.local_value as varchar)
                || '. The scorecard uses the published figure.'
        when published.value_status is not null
            then
                'The published ' || local_years.period_key || ' figure is ' || replace(published.value_status, '_', ' ')
                || '; the casework gives ' || cast(local_years.local_value as varchar) || '.'
        else
            'No figure for ' || local_years.period_key || ' has been published yet; the casework gives '
            || cast(local_years.local_value as varchar) || ' (provisional).'
    end as note
from local_years
left join published
    on
        local_years.la_code = published.geo_code
        and local_years.kpi_id = published.kpi_id
        and local_years.period_key = published.period_key
