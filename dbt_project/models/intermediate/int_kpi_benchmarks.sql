-- Every LA's value of every KPI and period beside its benchmarks: statistical-neighbour average
-- and pooled rate, the published regional and England figures (not means of LAs), national rank
-- and quartile band, and the change from the previous consecutive period.
with la_values as (

    select * from {{ ref('int_kpi_la_values') }}

),

published_areas as (

    select
        kpi_id,
        geo_level,
        geo_code,
        period_key,
        value,
        value_status
    from {{ ref('int_kpi_values') }}
    where
        is_preferred
        and geo_level in ('region', 'england')

),

local_authorities as (

    select
        la_code,
        region_code
    from {{ ref('stg_reference__local_authorities') }}

)

select
    la_values.la_code,
    la_values.kpi_id,
    la_values.period_key,
    la_values.period_type,
    la_values.period_seq,
    la_values.value,
    la_values.numerator,
    la_values.denominator,
    la_values.value_status,
    la_values.source,
    la_values.release,
    sn.sn_vintage,
    sn.sn_group_size,
    sn.sn_count_reported,
    sn.sn_average,
    sn.sn_pooled_rate,
    sn.sn_groupings,
    sn.sn_vintage_in_force,
    sn.sn_count_in_force,
    sn.sn_average_in_force,
    sn.sn_pooled_rate_in_force,
    local_authorities.region_code,
    region.value as region_value,
    england.value as england_value,
    ranks.national_rank,
    ranks.n_ranked,
    ranks.quartile_band,
    ranks.quartile_cut_25,
    ranks.quartile_cut_50,
    ranks.quartile_cut_75,
    previous.period_key as previous_period_key,
    previous.value as previous_value,
    la_values.value - previous.value as change_from_previous
from la_values
left join local_authorities
    on la_values.la_code = local_authorities.la_code
left join {{ ref('int_kpi_sn_averages') }} as sn
    on
        la_values.la_code = sn.la_code
        and la_values.kpi_id = sn.kpi_id
        and la_values.period_key = sn.period_key
left join {{ ref('int_kpi_ranks') }} as ranks
    on
        la_values.la_code = ranks.la_code
        and la_values.kpi_id = ranks.kpi_id
        and la_values.period_key = ranks.period_key
left join published_areas as region
    on
        la_values.kpi_id = region.kpi_id
        and la_values.period_key = region.period_key
        and region.geo_level = 'region'
        and local_authorities.region_code = region.geo_code
left join published_areas as england
    on
        la_values.kpi_id = england.kpi_id
        and la_values.period_key = england.period_key
        and england.geo_level = 'england'
left join la_values as previous
    on
        la_values.la_code = previous.la_code
        and la_values.kpi_id = previous.kpi_id
        and la_values.period_type = previous.period_type
        and la_values.period_seq - 1 = previous.period_seq
