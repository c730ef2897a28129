-- The preferred value of every KPI for every LA and period, with what the benchmarks need to know
-- about the KPI (polarity, whether it is benchmarked, decimal places).
select
    kpi_values.geo_code as la_code,
    kpi_values.kpi_id,
    kpi_values.period_key,
    kpi_values.period_type,
    kpi_values.period_end,
    kpi_values.period_seq,
    kpi_values.value,
    kpi_values.numerator,
    kpi_values.denominator,
    kpi_values.ratio_scale,
    kpi_values.value_status,
    kpi_values.source,
    kpi_values.release,
    catalogue.polarity,
    catalogue.unit,
    catalogue.decimal_places,
    catalogue.is_benchmarked
from {{ ref('int_kpi_values') }} as kpi_values
inner join {{ ref('kpi_catalogue') }} as catalogue
    on kpi_values.kpi_id = catalogue.kpi_id
where
    kpi_values.is_preferred
    and kpi_values.geo_level = 'la'
