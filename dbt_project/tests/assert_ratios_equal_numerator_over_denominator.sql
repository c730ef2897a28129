-- A ratio KPI equals its numerator / denominator within rounding, and where the source also
-- published the figure, the published figure agrees within one unit of the last decimal place.
-- Each returned row is a KPI value that breaks the arithmetic.
with ratios as (

    select
        kpi_values.*,
        catalogue.decimal_places,
        kpi_values.numerator / kpi_values.denominator * kpi_values_scale.ratio_scale as exact_ratio
    from {{ ref('fct_kpi_values') }} as kpi_values
    inner join {{ ref('kpi_catalogue') }} as catalogue
        on kpi_values.kpi_id = catalogue.kpi_id
    inner join (
        select distinct
            kpi_id,
            source,
            ratio_scale
        from {{ ref('kpi_source_measures') }}
        where role = 'numerator'
    ) as kpi_values_scale
        on
            kpi_values.kpi_id = kpi_values_scale.kpi_id
            and kpi_values.source = kpi_values_scale.source
    where
        kpi_values.is_recomputed
        and kpi_values.denominator <> 0

)

select
    kpi_id,
    source,
    geo_code,
    period_key,
    value,
    exact_ratio,
    published_value
from ratios
where
    abs(value - exact_ratio) > 0.5 * power(10, -decimal_places) + 1e-9
    or abs(coalesce(published_value, value) - value) > power(10, -decimal_places) + 1e-9
