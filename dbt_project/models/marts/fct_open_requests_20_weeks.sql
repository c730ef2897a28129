-- The 20-week leading indicator the published data lacks: per month end of
-- the casework (the latest month cut at the extract date), requests for an EHC needs assessment
-- still open, those already past 20 weeks (more than 140 days since the request), and those that
-- will pass 20 weeks within the next 4 weeks (113 to 140 days). Counts only; the requests
-- themselves are listed in casework_restricted.open_requests_past_20_weeks (not for publication).
select
    cast({{ local_la_code() }} as {{ dbt.type_string() }}) as la_code,
    month,
    period_end as as_at_date,
    cast(sum(case when measure = 'open_requests' then numerator end) as bigint) as open_requests,
    cast(sum(case when measure = 'open_past_20_weeks' then numerator end) as bigint) as open_past_20_weeks,
    cast(sum(case when measure = 'open_passing_20_weeks_within_4_weeks' then numerator end) as bigint)
        as open_passing_20_weeks_within_4_weeks
from {{ ref('int_local__stock_kpis') }}
where kpi_id = 'LEAD20'
group by month, period_end
