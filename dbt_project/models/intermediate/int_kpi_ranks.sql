-- Rank and quartile band of every LA with a value, per benchmarked KPI and period (the LAIT method).
-- Rank: polarity-aware (High: largest = 1; Low: smallest = 1), ties take the lower rank (1, 2, 2, 4).
-- Quartile band: cut points are the 25/50/75% quantiles of all LAs' values (type 7, linear
-- interpolation); a value on a cut point belongs to the lower interval; A is the best quarter.
-- Context KPIs get neither.
with ranked_values as (

    select *
    from {{ ref('int_kpi_la_values') }}
    where
        value is not null
        and is_benchmarked
        and polarity in ('High', 'Low')

),

cut_points as (

    select
        kpi_id,
        period_key,
        count(*) as n_ranked,
        {{ quantile_cont('value', 0.25) }} as quartile_cut_25,
        {{ quantile_cont('value', 0.5) }} as quartile_cut_50,
        {{ quantile_cont('value', 0.75) }} as quartile_cut_75
    from ranked_values
    group by kpi_id, period_key

),

ranked as (

    select
        la_code,
        kpi_id,
        period_key,
        polarity,
        value,
        -- bigint on every engine (Spark's rank() is an int)
        cast(rank() over (
            partition by kpi_id, period_key
            order by case when polarity = 'Low' then value else -value end
        ) as bigint) as national_rank
    from ranked_values

),

banded as (

    select
        ranked.la_code,
        ranked.kpi_id,
        ranked.period_key,
        ranked.national_rank,
        cut_points.n_ranked,
        cut_points.quartile_cut_25,
        cut_points.quartile_cut_50,
        cut_points.quartile_cut_75,
        -- 1 = the lowest values ... 4 = the highest
        case
            when ranked.value <= cut_points.quartile_cut_25 then 1
            when ranked.value <= cut_points.quartile_cut_50 then 2
            when ranked.value <= cut_points.quartile_cut_75 then 3
            else 4
        end as value_quarter,
        ranked.polarity
    from ranked
    inner join cut_points
        on
            ranked.kpi_id = cut_points.kpi_id
            and ranked.period_key = cut_points.period_key

)

select
    la_code,
    kpi_id,
    period_key,
    national_rank,
    n_ranked,
    quartile_cut_25,
    quartile_cut_50,
    quartile_cut_75,
    case
        when polarity = 'High'
            then
                case value_quarter when 4 then 'A' when 3 then 'B' when 2 then 'C' else 'D' end
        else
            case value_quarter when 1 then 'A' when 2 then 'B' when 3 then 'C' else 'D' end
    end as quartile_band
from banded
