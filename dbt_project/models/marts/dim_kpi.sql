-- The KPI catalogue (kpi_catalogue.csv) with what the data holds for each KPI.
with coverage as (

    select
        kpi_id,
        count(distinct source) as n_sources,
        min(period_type) as period_type,
        min(case when value is not null then period_key end) as first_period_key,
        max(case when value is not null then period_key end) as latest_period_key
    from {{ ref('int_kpi_values') }}
    group by kpi_id

)

select
    catalogue.kpi_id,
    catalogue.display_order,
    catalogue.parent_kpi_id,
    catalogue.parent_kpi_id is null as is_headline,
    catalogue.title,
    catalogue.family,
    catalogue.unit,
    catalogue.polarity,
    catalogue.national_source,
    catalogue.local_source,
    catalogue.numerator,
    catalogue.denominator,
    catalogue.decimal_places,
    catalogue.is_benchmarked,
    catalogue.tags,
    coalesce(coverage.n_sources, 0) as n_sources,
    coverage.period_type,
    coverage.first_period_key,
    coverage.latest_period_key
from {{ ref('kpi_catalogue') }} as catalogue
left join coverage
    on catalogue.kpi_id = coverage.kpi_id
