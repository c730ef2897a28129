-- The casework reporting months (docs/local-extracts.md section 6): every month from the month of
-- the earliest request received to the month of the latest extract date, in the latest snapshot.
-- ref is the month end, cut at the extract date in the extract's own month (a provisional part month).
with latest as (

    select casework.*
    from {{ ref('stg_local__ehcp_casework') }} as casework
    where casework.extract_date = (
        select max(snapshots.extract_date) from {{ ref('stg_local__ehcp_casework') }} as snapshots
    )

),

bounds as (

    select
        {{ month_start('min(request_received_date)') }} as first_month,
        {{ month_start('max(extract_date)') }} as last_month,
        max(extract_date) as extract_date
    from latest

),

months as (

    select
        {{ month_series('first_month', 'last_month') }} as month,
        extract_date
    from bounds
    where first_month is not null

)

select
    month,
    cast(last_day(month) as date) as month_end,
    least(cast(last_day(month) as date), extract_date) as ref,
    extract_date
from months
