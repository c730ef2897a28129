-- The DfE statistical neighbour groups: for each LA and vintage its 10 neighbours in order.
with source as (

    select * from {{ source('raw', 'statistical_neighbours') }}

)

select
    vintage,
    valid_from,
    new_la_code as la_code,
    la_number,
    la_name,
    cast(neighbour_rank as integer) as neighbour_rank,
    neighbour_new_la_code as neighbour_la_code,
    neighbour_la_number,
    closeness,
    release
from source
