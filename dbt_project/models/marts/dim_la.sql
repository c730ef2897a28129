-- Local authorities (from raw.la_reference), live and terminated, keyed by new_la_code.
select
    la_code,
    current_la_code,
    old_la_code,
    la_name,
    region_code,
    region_name,
    entity_code,
    entity_description,
    status,
    date_of_operation,
    date_of_termination
from {{ ref('stg_reference__local_authorities') }}
