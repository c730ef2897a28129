-- Every LA's scorecard lists every catalogue KPI once, data or not. Each returned row is an LA
-- whose scorecard misses KPIs.
with catalogue_size as (

    select count(*) as n_kpis from {{ ref('kpi_catalogue') }}

)

select
    scorecard.la_code,
    count(*) as n_rows,
    max(catalogue_size.n_kpis) as n_kpis
from {{ ref('fct_scorecard') }} as scorecard
cross join catalogue_size
group by scorecard.la_code
having count(*) <> max(catalogue_size.n_kpis)
