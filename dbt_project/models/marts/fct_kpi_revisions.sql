-- Each KPI, source, geography and period with its value as first published (the oldest release
-- that carried it) and as it stands now (the newest release, the one the marts use), the change
-- and both releases (design.md section 8). A figure only one release carried has the same release
-- twice and is_revised false. On the real EHC plans editions: mediation counts for 2014-2018 that
-- the 2019 edition published and the 2023 edition withdrew; the Isles of Scilly's 2022 20-week
-- rate, 0% in the 2023 edition and 'x' in the 2025 release.
with by_release as (

    select
        *,
        row_number() over (
            partition by kpi_id, source, geo_level, geo_code, period_key
            order by coalesce(release_order, '')
        ) as oldest_first,
        row_number() over (
            partition by kpi_id, source, geo_level, geo_code, period_key
            order by coalesce(release_order, '') desc
        ) as newest_first,
        count(*) over (partition by kpi_id, source, geo_level, geo_code, period_key) as n_releases
    from {{ ref('int_kpi_values_by_release') }}

),

first_published as (

    select * from by_release
    where oldest_first = 1

),

now_published as (

    select * from by_release
    where newest_first = 1

),

catalogue as (

    select
        kpi_id,
        decimal_places
    from {{ ref('kpi_catalogue') }}

)

select
    now_published.geo_level,
    now_published.geo_code,
    now_published.kpi_id,
    now_published.source,
    now_published.period_key,
    now_published.period_label,
    first_published.release as first_release,
    first_published.value as first_value,
    first_published.value_status as first_value_status,
    now_published.release as current_release,
    now_published.value as current_value,
    now_published.value_status as current_value_status,
    {{ round_to('now_published.value - first_published.value', 'catalogue.decimal_places') }} as change_since_first,
    -- a number changed, appeared or was withdrawn (one symbol for another, e.g. 'missing' then
    -- 'not applicable', is no revision of a figure)
    case
        when first_published.value is null and now_published.value is null then false
        when first_published.value is null or now_published.value is null then true
        else first_published.value <> now_published.value
    end as is_revised,
    now_published.n_releases
from now_published
inner join first_published
    on
        now_published.kpi_id = first_published.kpi_id
        and now_published.source = first_published.source
        and now_published.geo_level = first_published.geo_level
        and now_published.geo_code = first_published.geo_code
        and now_published.period_key = first_published.period_key
inner join catalogue
    on now_published.kpi_id = catalogue.kpi_id
