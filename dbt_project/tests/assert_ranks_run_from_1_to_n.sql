-- For every ranked KPI and period, ranks run from 1 to at most n, every LA with a value has one,
-- and n is the number of LAs with a value. Each returned row is a KPI and period that breaks it.
with ranked as (

    select
        kpi_id,
        period_key,
        min(national_rank) as lowest_rank,
        max(national_rank) as highest_rank,
        count(national_rank) as n_with_rank,
        count(value) as n_with_value,
        max(n_ranked) as n_ranked
    from {{ ref('fct_kpi_benchmarks') }}
    group by kpi_id, period_key
    having count(national_rank) > 0

)

select *
from ranked
where
    lowest_rank <> 1
    or highest_rank > n_ranked
    or n_with_rank <> n_with_value
    or n_ranked <> n_with_value
