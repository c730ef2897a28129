-- LAIT's indicator dictionary: one row per indicator (measure_short), with its polarity, year type
-- and decimal places as LAIT publishes them.
with source as (

    {%- set columns = [] %}
    {%- for name in ['measure_short', 'measure_code', 'topic', 'measure', 'chart_title', 'polarity', 'y_axis_name',
                     'dps', 'year_type', 'no_quartile', 'description', 'release'] %}
    {%- do columns.append([name, dbt.type_string()]) %}
    {%- endfor %}
    {{ current_rows('lait_data_dictionary', columns + [['source_row', dbt.type_bigint()]]) }}

),

ranked as (

    select
        measure_short,
        measure_code,
        topic,
        measure as measure_name,
        chart_title,
        case when polarity in ('High', 'Low') then polarity end as polarity,
        y_axis_name,
        {{ safe_cast_integer('dps') }} as decimal_places,
        year_type,
        no_quartile,
        description,
        release,
        -- the dictionary repeats a few indicators; keep the first row
        row_number() over (partition by measure_short order by source_row) as row_in_measure
    from source
    where measure_short is not null

)

select
    measure_short,
    measure_code,
    topic,
    measure_name,
    chart_title,
    polarity,
    y_axis_name,
    decimal_places,
    year_type,
    no_quartile,
    description,
    release
from ranked
where row_in_measure = 1
