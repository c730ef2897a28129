-- Where two sources give the same KPI, geography and period, their values agree within one unit
-- of the KPI's last published decimal place. A warning, not an error: the sources are DfE's and a
-- disagreement is reported for an analyst to look at, not fixed here. Each returned row is a KPI
-- and pair of sources that disagree somewhere (e.g. S9: new plans in newplans.csv vs the plans
-- counted by the 20-week measure), with how many values differ.
{{ config(severity='warn') }}

with kpi_values as (

    select
        kpi_values.*,
        catalogue.decimal_places
    from {{ ref('fct_kpi_values') }} as kpi_values
    inner join {{ ref('kpi_catalogue') }} as catalogue
        on kpi_values.kpi_id = catalogue.kpi_id
    where kpi_values.value is not null

),

disagreements as (

    select
        first_source.kpi_id,
        first_source.source as first_source,
        second_source.source as second_source,
        first_source.geo_code,
        first_source.period_key,
        abs(first_source.value - second_source.value) as difference
    from kpi_values as first_source
    inner join kpi_values as second_source
        on
            first_source.kpi_id = second_source.kpi_id
            and first_source.geo_level = second_source.geo_level
            and first_source.geo_code = second_source.geo_code
            and first_source.period_key = second_source.period_key
            and first_source.source < second_source.source
    where abs(first_source.value - second_source.value) > power(10, -first_source.decimal_places) + 1e-9

)

-- one row per KPI and pair of sources, with how often and how far they disagree
select
    kpi_id,
    first_source,
    second_source,
    count(*) as n_disagreements,
    max(difference) as largest_difference,
    min(geo_code || ' ' || period_key) as first_example
from disagreements
group by kpi_id, first_source, second_source
