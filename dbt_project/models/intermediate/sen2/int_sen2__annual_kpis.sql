-- The LA's statutory figures from its latest SEN2 return, with DfE's published definitions, one row
-- per KPI, measure and year (the EHC plans release's own periods):
-- - calendar year Y (requests, new active_plans, 20-week timeliness, mediation, tribunal): S10 requests
--   received in Y; S9 new plans started in Y; S5_inc new plans in Y within 20 weeks over new plans in
--   Y; S5 the same without the plans where a 20-week exception applies; S11 / S12 requests received
--   in Y with mediation / a tribunal appeal;
-- - January census of year Y (S6): people with a plan started on or before the census date
--   (sen2_census_dates, the third Thursday of January) and not ceased on or before it;
-- - the return's own census year only (the review and phase-transfer items describe the active_plans
--   active at the return's reference date): S14 annual reviews - of the plans active at the census
--   date that started at least a year before it, those whose latest review meeting (item 5.3) was
--   within the 12 months up to the census date; S15 phase transfers - of the plans with a phase
--   transfer due date (item 5.6, version 1.3) in the year before the census date, those whose final
--   amended plan (item 5.7) was issued on or before the due date.
-- Years before the first request are not reported, nor a calendar year (or census) the return's
-- extract date has not reached: a part year is not the published figure's period.
with requests as (

    select * from {{ ref('int_sen2__requests') }}

),

returns as (

    select
        max(extract_date) as extract_date,
        max(reference_date) as reference_date
    from {{ ref('stg_sen2__returns') }}
    where extract_date = (select max(snapshots.extract_date) from {{ ref('stg_sen2__returns') }} as snapshots)

),

years as (

    select census.census_year
    from {{ ref('sen2_census_dates') }} as census
    cross join returns
    where
        census.census_year >= (
            select min(extract(year from first_requests.received_date))
            from requests as first_requests
        )
        and census.census_year <= extract(year from returns.extract_date)

),

flows as (

    -- the casework flows of seeds/local_kpi_measures.csv, by the calendar year of their events
    select
        years.census_year,
        measures.kpi_id,
        measures.measure,
        coalesce(sum(events.numerator), 0) as numerator,
        case when measures.unit = 'percent' then coalesce(sum(events.denominator), 0) end as denominator
    from years
    cross join returns
    cross join {{ ref('local_kpi_measures') }} as measures
    left join {{ ref('int_sen2__request_events') }} as events
        on
            measures.measure = events.measure
            and extract(year from events.event_date) = years.census_year
    where measures.is_casework_flow and years.census_year < extract(year from returns.extract_date)
    group by years.census_year, measures.kpi_id, measures.measure, measures.unit

),

caseload as (

    select
        census.census_year,
        census.census_date,
        count(distinct requests.person_key) as active_plans
    from {{ ref('sen2_census_dates') }} as census
    inner join years on census.census_year = years.census_year
    cross join returns
    inner join requests
        on
            requests.has_plan
            and census.census_date >= requests.plan_start_date
            and (requests.plan_cease_date is null or census.census_date < requests.plan_cease_date)
    where census.census_date <= returns.extract_date
    group by census.census_year, census.census_date

),

reviews as (

    select
        census.census_year,
        sum(case
            when
                requests.review_meeting_date > {{ dbt.dateadd('year', -1, 'census.census_date') }}
                and requests.review_meeting_date <= census.census_date then 1
            else 0
        end) as reviewed,
        count(*) as due,
        sum(case
            when
                requests.phase_transfer_due_date > {{ dbt.dateadd('year', -1, 'census.census_date') }}
                and requests.phase_transfer_due_date <= census.census_date
                and requests.phase_transfer_final_date <= requests.phase_transfer_due_date then 1
            else 0
        end)
            as transfers_on_time,
        sum(case
            when
                requests.phase_transfer_due_date > {{ dbt.dateadd('year', -1, 'census.census_date') }}
                and requests.phase_transfer_due_date <= census.census_date then 1
            else 0
        end) as transfers_due
    from {{ ref('sen2_census_dates') }} as census
    cross join returns
    inner join requests
        on
            requests.has_plan
            and requests.plan_start_date <= {{ dbt.dateadd('year', -1, 'census.census_date') }}
            and (requests.plan_cease_date is null or census.census_date < requests.plan_cease_date)
    where census.census_year = extract(year from returns.reference_date)
    group by census.census_year

),

measures as (

    select
        census_year,
        kpi_id,
        measure,
        'calendar_year' as period_type,
        numerator,
        denominator
    from flows
    union all
    select
        census_year,
        'S6' as kpi_id,
        'active_plans' as measure,
        'january_census' as period_type,
        active_plans as numerator,
        null as denominator
    from caseload
    union all
    select
        census_year,
        'S14' as kpi_id,
        'pct_reviewed_within_12_months' as measure,
        'january_census' as period_type,
        reviewed as numerator,
        due as denominator
    from reviews
    union all
    select
        census_year,
        'S15' as kpi_id,
        'pct_phase_transfers_on_time' as measure,
        'january_census' as period_type,
        transfers_on_time as numerator,
        transfers_due as denominator
    from reviews
    where transfers_due > 0

)

select
    measures.kpi_id,
    measures.measure,
    cast(measures.census_year as {{ dbt.type_string() }}) as period_key,
    measures.period_type,
    case when measures.denominator is null then 'count' else 'percent' end as unit,
    cast(measures.numerator as bigint) as numerator,
    cast(measures.denominator as bigint) as denominator,
    case
        when measures.denominator is null then cast(measures.numerator as {{ type_double() }})
        when measures.denominator > 0
            then {{ round_to('100.0 * measures.numerator / measures.denominator', 1) }}
    end as value,
    returns.extract_date,
    returns.reference_date
from measures
cross join returns
