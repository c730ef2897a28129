-- The DfE statistical neighbour groups: for each LA and vintage its 10 neighbours in order.
with source as (

    {{ current_rows('statistical_neighbours', [
        ['vintage', dbt.type_string()], ['valid_from', 'date'], ['new_la_code', dbt.type_string()],
        ['la_number', dbt.type_bigint()], ['la_name', dbt.type_string()], ['neighbour_rank', dbt.type_bigint()],
        ['neighbour_new_la_code', dbt.type_string()], ['neighbour_la_number', dbt.type_bigint()],
        ['closeness', dbt.type_string()], ['release', dbt.type_string()]]) }}

)

select
    vintage,
    valid_from,
    -- "May 2025 groupings": how the scorecard names the groupings an SN average uses
    case extract(month from valid_from)
        when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
        when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
        when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
    end || ' ' || cast(extract(year from valid_from) as {{ dbt.type_string() }}) || ' groupings' as groupings_label,
    new_la_code as la_code,
    la_number,
    la_name,
    cast(neighbour_rank as integer) as neighbour_rank,
    neighbour_new_la_code as neighbour_la_code,
    neighbour_la_number,
    closeness,
    release
from source
