-- Where all LAs' values of a KPI and period differ, the four quartile bands hold the same number
-- of LAs give or take one (with tied values a band can be larger: ties share a band).
-- Each returned row is a KPI and period whose bands are unbalanced.
with banded as (

    select
        kpi_id,
        period_key,
        count(*) as n_banded,
        count(distinct value) as n_distinct_values,
        count(case when quartile_band = 'A' then 1 end) as n_a,
        count(case when quartile_band = 'B' then 1 end) as n_b,
        count(case when quartile_band = 'C' then 1 end) as n_c,
        count(case when quartile_band = 'D' then 1 end) as n_d
    from {{ ref('fct_kpi_benchmarks') }}
    where quartile_band is not null
    group by kpi_id, period_key

)

select *
from banded
where
    n_distinct_values = n_banded
    and greatest(n_a, n_b, n_c, n_d) - least(n_a, n_b, n_c, n_d) > 1
