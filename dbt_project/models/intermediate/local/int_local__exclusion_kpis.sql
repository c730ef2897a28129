-- E7-E10 from the exclusions log (docs/local-extracts.md section 6): suspensions and permanent
-- exclusions involving a pupil with an EHC plan (E7, E9) or at SEN support (E8, E10), as a count
-- and as a percentage of all exclusions of that type, per month of the exclusion date and academic
-- year to date (from 1 September). Months run from the first to the last month with an exclusion.
with events as (

    select
        {{ month_start('exclusion_date') }} as month,
        exclusion_type,
        sen_provision
    from {{ ref('stg_local__exclusions') }}
    where exclusion_date is not null

),

bounds as (

    select
        min(month) as first_month,
        max(month) as last_month
    from events

),

months as (

    select {{ month_series('first_month', 'last_month') }} as month
    from bounds
    where first_month is not null

),

per_month as (

    select
        month,
        count(*) filter (where exclusion_type = 'suspension') as susp,
        count(*) filter (where exclusion_type = 'suspension' and sen_provision = 'ehc_plan') as susp_ehcp,
        count(*) filter (where exclusion_type = 'suspension' and sen_provision = 'sen_support') as susp_support,
        count(*) filter (where exclusion_type = 'permanent') as perm,
        count(*) filter (where exclusion_type = 'permanent' and sen_provision = 'ehc_plan') as perm_ehcp,
        count(*) filter (where exclusion_type = 'permanent' and sen_provision = 'sen_support') as perm_support
    from events
    group by month

),

monthly as (

    select
        months.month,
        months.month as period_start,
        cast(last_day(months.month) as date) as period_end,
        make_date(year(months.month) - case when month(months.month) < 9 then 1 else 0 end, 9, 1)
            as year_start,
        coalesce(per_month.susp, 0) as susp,
        coalesce(per_month.susp_ehcp, 0) as susp_ehcp,
        coalesce(per_month.susp_support, 0) as susp_support,
        coalesce(per_month.perm, 0) as perm,
        coalesce(per_month.perm_ehcp, 0) as perm_ehcp,
        coalesce(per_month.perm_support, 0) as perm_support
    from months
    left join per_month on months.month = per_month.month

),

counted as (

    select
        'month' as period_type,
        month,
        period_start,
        period_end,
        susp,
        susp_ehcp,
        susp_support,
        perm,
        perm_ehcp,
        perm_support
    from monthly
    union all
    select
        'academic_year_to_date' as period_type,
        month,
        year_start as period_start,
        period_end,
        sum(susp) over to_date as susp,
        sum(susp_ehcp) over to_date as susp_ehcp,
        sum(susp_support) over to_date as susp_support,
        sum(perm) over to_date as perm,
        sum(perm_ehcp) over to_date as perm_ehcp,
        sum(perm_support) over to_date as perm_support
    from monthly
    window to_date as (partition by year_start order by month rows between unbounded preceding and current row)

),

measures as (

    select
        counted.period_type,
        counted.month,
        counted.period_start,
        counted.period_end,
        kinds.kpi_id,
        kinds.kind,
        case kinds.kpi_id
            when 'E7' then counted.susp_ehcp
            when 'E8' then counted.susp_support
            when 'E9' then counted.perm_ehcp
            when 'E10' then counted.perm_support
        end as numerator,
        case kinds.kind when 'suspensions' then counted.susp else counted.perm end as denominator
    from counted
    cross join (
        values
        ('E7', 'suspensions'),
        ('E8', 'suspensions'),
        ('E9', 'permanent_exclusions'),
        ('E10', 'permanent_exclusions')
    ) as kinds (kpi_id, kind)

)

select
    kpi_id,
    kind as measure,
    'count' as unit,
    month,
    period_type,
    period_start,
    period_end,
    cast(numerator as bigint) as numerator,
    cast(null as bigint) as denominator
from measures
union all
select
    kpi_id,
    'pct_of_all_' || kind as measure,
    'percent' as unit,
    month,
    period_type,
    period_start,
    period_end,
    cast(numerator as bigint) as numerator,
    cast(denominator as bigint) as denominator
from measures
