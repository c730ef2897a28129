-- Local against published: where a value derived from the LA's monthly casework covers the same
-- period as a published annual figure - the calendar year, i.e. the rolling 12 months ending in a
-- complete December - both are shown with the difference (local - published). S5 and S5_inc (the
-- 20-week measure, against the EHC plans release timeliness table), S9 new plans, S10 requests,
-- S11 mediations and S12 appeals (reconcile_with_published in seeds/local_kpi_measures.csv). The
-- scorecard uses the published figure once it exists.
-- The LA's SEN2 person-level return adds one row per KPI and year present in both (local_source
-- 'sen2_return'): its calendar-year figures and January caseload (int_sen2__annual_kpis, DfE's
-- definitions) beside the published ones, with the likely reason for a difference.
with local_years as (

    select
        geo_code as la_code,
        kpi_id,
        local_kpi_id,
        measure,
        cast(year(period_end) as {{ dbt.type_string() }}) as period_key,
        period_start,
        period_end,
        value as local_value,
        numerator as local_numerator,
        denominator as local_denominator,
        source as local_source
    from {{ ref('int_kpi_values__local') }}
    where
        source = 'local_ehcp_casework'  -- the SEN2 return's own rows come from int_sen2__annual_kpis below
        and period_type = 'rolling_12_months'
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

),

-- the EHC plans release itself (aggregated by DfE from the SEN2 returns), not a preferred substitute
published_release as (

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
        geo_level = 'la'
        and source in ('ehcp_timeliness', 'ehcp_requests', 'ehcp_caseload')
        and period_type in ('calendar_year', 'january_snapshot')

),

sen2_la as (

    select max(authorities.current_la_code) as la_code
    from {{ ref('stg_sen2__returns') }} as sen2_returns
    inner join {{ ref('stg_reference__local_authorities') }} as authorities
        on cast(authorities.old_la_code as {{ dbt.type_string() }}) = sen2_returns.la_number

),

sen2_years as (

    select
        sen2_la.la_code,
        sen2.kpi_id,
        sen2.measure,
        case when sen2.period_type = 'january_census' then 'JAN' || sen2.period_key else sen2.period_key end
            as period_key,
        sen2.numerator,
        sen2.denominator,
        sen2.value
    from {{ ref('int_sen2__annual_kpis') }} as sen2
    cross join sen2_la
    where sen2.kpi_id in ('S5', 'S5_inc', 'S6', 'S9', 'S10', 'S11', 'S12')

),

sen2_rows as (

    select
        sen2_years.la_code,
        sen2_years.kpi_id,
        sen2_years.measure,
        sen2_years.period_key,
        published_release.value as published_value,
        published_release.numerator as published_numerator,
        published_release.denominator as published_denominator,
        published_release.value_status as published_value_status,
        published_release.source as published_source,
        sen2_years.value as local_value,
        sen2_years.numerator as local_numerator,
        sen2_years.denominator as local_denominator
    from sen2_years
    inner join published_release
        on
            sen2_years.la_code = published_release.geo_code
            and sen2_years.kpi_id = published_release.kpi_id
            and sen2_years.period_key = published_release.period_key

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
    {{ round_to('local_years.local_value - published.value', 1) }} as difference,
    case
        when published.value is not null then 'published'
        else 'provisional / local'
    end as scorecard_uses,
    case
        when published.value is not null
            then
                'Published ' || local_years.period_key || ' figure '
                || cast(published.value as {{ dbt.type_string() }})
                || ' (' || published.source || '); the casework gives '
                || cast(local_years.local_value as {{ dbt.type_string() }})
                || '. The scorecard uses the published figure.'
        when published.value_status is not null
            then
                'The published ' || local_years.period_key || ' figure is ' || replace(published.value_status, '_', ' ')
                || '; the casework gives ' || cast(local_years.local_value as {{ dbt.type_string() }}) || '.'
        else
            'No figure for ' || local_years.period_key || ' has been published yet; the casework gives '
            || cast(local_years.local_value as {{ dbt.type_string() }}) || ' (provisional).'
    end as note,
    cast(null as {{ dbt.type_string() }}) as reason
from local_years
left join published
    on
        local_years.la_code = published.geo_code
        and local_years.kpi_id = published.kpi_id
        and local_years.period_key = published.period_key
union all
select
    sen2_rows.la_code,
    sen2_rows.kpi_id,
    sen2_rows.measure,
    sen2_rows.period_key,
    {{ period_start_from_key('sen2_rows.period_key') }} as period_start,
    cast(case
        when sen2_rows.period_key like 'JAN%' then substr(sen2_rows.period_key, 4, 4) || '-01-31'
        else sen2_rows.period_key || '-12-31'
    end as date) as period_end,
    sen2_rows.local_value,
    sen2_rows.local_numerator,
    sen2_rows.local_denominator,
    'sen2_return' as local_source,
    sen2_rows.published_value,
    sen2_rows.published_numerator,
    sen2_rows.published_denominator,
    sen2_rows.published_value_status,
    sen2_rows.published_source,
    {{ round_to('sen2_rows.local_value - sen2_rows.published_value', 1) }} as difference,
    'published' as scorecard_uses,
    case
        when sen2_rows.published_value is null
            then
                'The published ' || sen2_rows.period_key || ' figure is '
                || replace(coalesce(sen2_rows.published_value_status, 'missing'), '_', ' ')
                || '; the SEN2 return gives ' || cast(sen2_rows.local_value as {{ dbt.type_string() }}) || '.'
        else
            'Published ' || sen2_rows.period_key || ' figure '
            || cast(sen2_rows.published_value as {{ dbt.type_string() }})
            || ' (' || sen2_rows.published_source || '); the SEN2 return gives '
            || cast(sen2_rows.local_value as {{ dbt.type_string() }}) || '.'
    end as note,
    case
        when sen2_rows.published_value is null then 'not comparable: the published figure is suppressed or missing'
        when sen2_rows.local_value = sen2_rows.published_value then 'agrees with the published figure'
        when sen2_rows.kpi_id = 'S6'
            then 'plans started, ceased or transferred after the census return was submitted'
        when sen2_rows.kpi_id in ('S11', 'S12')
            then
                'SEN2 holds no dates for mediation and appeals: the return counts them in the year the request '
                || 'was received'
        when sen2_rows.kpi_id = 'S10' then 'requests recorded or corrected after the return was submitted'
        else
            'plan start dates or 20-week exceptions corrected after the return was submitted, or DfE revised '
            || 'the figure'
    end as reason
from sen2_rows
