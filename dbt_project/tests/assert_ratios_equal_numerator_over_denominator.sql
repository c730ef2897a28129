-- A ratio KPI the pipeline recomputes from a numerator and a denominator agrees with the figure the
-- source itself published for it, within one and a half units of the last decimal place (both rounded): the published figure
-- is independent of the recomputation, so a swapped numerator, a wrong scale or a wrong measure
-- shows. Each returned row is a KPI value that disagrees, or one row saying nothing was compared
-- (so the test cannot pass by comparing nothing).
with ratios as (

    select
        kpi_values.kpi_id,
        kpi_values.source,
        kpi_values.geo_code,
        kpi_values.period_key,
        kpi_values.value,
        kpi_values.published_value,
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
        and kpi_values.published_value is not null

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
where abs(published_value - exact_ratio) > 1.5 * power(10, -decimal_places) + 1e-9

union all

select
    'none' as kpi_id,
    'no recomputed ratio has a published figure to compare with' as source,
    null as geo_code,
    null as period_key,
    null as value,
    null as exact_ratio,
    null as published_value
from (select count(*) as n_compared from ratios) as compared
where compared.n_compared = 0
