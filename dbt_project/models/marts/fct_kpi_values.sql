-- Every KPI value from every national source: LAs, regions and England, every period. Where two
-- sources give the same KPI, geography and period both are kept; is_preferred marks the one used.
select
    geo_level,
    geo_code,
    kpi_id,
    period_key,
    source,
    value,
    numerator,
    denominator,
    published_value,
    value_status,
    is_recomputed,
    is_preferred,
    precedence,
    n_sources,
    release
from {{ ref('int_kpi_values') }}
