-- The four quartile bands of every KPI and period hold about a quarter of the LAs each: a band may
-- differ from n / 4 by at most one LA plus the largest group of tied values (ties share a band, so
-- a tie can push a band over or under). Every banded KPI and period is checked, tied or not.
-- Each returned row is a KPI and period whose bands are unbalanced, or one row saying nothing was
-- checked (so the test cannot pass by checking no group).
with banded_rows as (

    select
        kpi_id,
        period_key,
        value,
        quartile_band
    from {{ ref('fct_kpi_benchmarks') }}
    where quartile_band is not null

),

ties as (

    select
        kpi_id,
        period_key,
        value,
        count(*) as n_tied
    from banded_rows
    group by kpi_id, period_key, value

),

largest_tie as (

    select
        kpi_id,
        period_key,
        max(n_tied) as max_tie
    from ties
    group by kpi_id, period_key

),

banded as (

    select
        kpi_id,
        period_key,
        count(*) as n_banded,
        sum(case when quartile_band = 'A' then 1 else 0 end) as n_a,
        sum(case when quartile_band = 'B' then 1 else 0 end) as n_b,
        sum(case when quartile_band = 'C' then 1 else 0 end) as n_c,
        sum(case when quartile_band = 'D' then 1 else 0 end) as n_d
    from banded_rows
    group by kpi_id, period_key

),

unbalanced as (

    select
        banded.kpi_id,
        banded.period_key,
        banded.n_banded,
        banded.n_a,
        banded.n_b,
        banded.n_c,
        banded.n_d,
        largest_tie.max_tie
    from banded
    inner join largest_tie
        on
            banded.kpi_id = largest_tie.kpi_id
            and banded.period_key = largest_tie.period_key
    where
        greatest(
            abs(banded.n_a - banded.n_banded / 4.0),
            abs(banded.n_b - banded.n_banded / 4.0),
            abs(banded.n_c - banded.n_banded / 4.0),
            abs(banded.n_d - banded.n_banded / 4.0)
        ) > largest_tie.max_tie + 1

)

select * from unbalanced

union all

select
    'none' as kpi_id,
    'no KPI and period has quartile bands to check' as period_key,
    0 as n_banded,
    0 as n_a,
    0 as n_b,
    0 as n_c,
    0 as n_d,
    0 as max_tie
from (select count(*) as n_groups from banded) as group_count
where group_count.n_groups = 0
