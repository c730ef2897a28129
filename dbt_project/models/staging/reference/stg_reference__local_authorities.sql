-- Local authorities with their codes, region and dates of operation. The lookup also carries
-- combined rows for LAs that report jointly (e.g. "Cumberland / Westmorland and Furness"); they are
-- not authorities in their own right and are left out.
--
-- An authority whose code changed while its LA number stayed (Buckinghamshire E10000002 ->
-- E06000060, North Yorkshire, Somerset, Northumberland, Gateshead) is one LA: current_la_code is
-- the code of its latest row, and the models key LA values by it. Publishers mix the codes (the EHC
-- plans release still uses E10000023 for North Yorkshire in 2024; LAIT uses the new code).
with source as (

    select * from ({{ current_rows('la_reference', [
        ['new_la_code', dbt.type_string()], ['old_la_code', dbt.type_string()], ['la_name', dbt.type_string()],
        ['date_of_operation', 'date'], ['date_of_termination', 'date'], ['region_code', dbt.type_string()],
        ['region_name', dbt.type_string()], ['entity_code', dbt.type_string()],
        ['entity_description', dbt.type_string()], ['status', dbt.type_string()], ['is_combined', 'boolean'],
        ['release', dbt.type_string()]]) }}) as loaded
    where not coalesce(is_combined, false)

),

numbered as (

    select
        *,
        -- "x" where the authority had no LA number
        case
            when {{ safe_cast_integer('old_la_code') }} is not null then old_la_code
        end as la_number
    from source

)

select
    new_la_code as la_code,
    first_value(new_la_code) over (
        partition by coalesce(la_number, new_la_code)
        order by date_of_operation desc
    ) as current_la_code,
    la_number as old_la_code,
    la_name,
    region_code,
    region_name,
    entity_code,
    entity_description,
    status,
    date_of_operation,
    date_of_termination,
    release
from numbered
