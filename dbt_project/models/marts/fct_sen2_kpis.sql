-- The LA's own statutory figures from its latest SEN2 return, computed with DfE's definitions
-- (int_sen2__annual_kpis: calendar years and January censuses, the periods DfE publishes) and month
-- by month (int_sen2__monthly_kpis: each month, the rolling 12 months, each month end), ready months
-- before DfE publishes them. Counts are unsuppressed: apply small-number suppression
-- (pipelines.suppression) before publishing.
with returns as (

    select
        max(authorities.current_la_code) as la_code,
        max(sen2_returns.extract_date) as extract_date
    from {{ ref('stg_sen2__returns') }} as sen2_returns
    inner join {{ ref('stg_reference__local_authorities') }} as authorities
        on cast(authorities.old_la_code as {{ dbt.type_string() }}) = sen2_returns.la_number

)

select
    returns.la_code,
    annual.kpi_id,
    annual.measure,
    annual.period_type,
    annual.period_key,
    annual.unit,
    annual.numerator,
    annual.denominator,
    annual.value,
    returns.extract_date
from {{ ref('int_sen2__annual_kpis') }} as annual
cross join returns
union all
select
    returns.la_code,
    monthly.kpi_id,
    monthly.measure,
    monthly.period_type,
    {{ date_text('monthly.month', 'month') }} as period_key,
    monthly.unit,
    monthly.numerator,
    monthly.denominator,
    monthly.value,
    returns.extract_date
from {{ ref('int_sen2__monthly_kpis') }} as monthly
cross join returns
