-- The neighbours that reported are a subset of the group, and a group has at most 10 LAs; an SN
-- average exists exactly when some neighbour reported. Each returned row breaks that.
select
    la_code,
    kpi_id,
    period_key,
    sn_group_size,
    sn_count_reported,
    sn_average
from {{ ref('fct_kpi_benchmarks') }}
where
    sn_count_reported > sn_group_size
    or sn_group_size > 10
    or (sn_count_reported > 0 and sn_average is null)
    or (sn_count_reported = 0 and sn_average is not null)
