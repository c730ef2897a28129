-- The sentence a board reads first, per LA and reporting period, computed from the headline
-- measures of fct_scorecard (variants shown beside a measure, such as S5_inc, are not counted).
with headline as (

    select * from {{ ref('fct_scorecard') }}
    where is_headline

),

counted as (

    select
        reporting_period,
        reporting_date,
        la_code,
        max(la_name) as la_name,
        count(*) as n_measures,
        count(case when rag_status in ('Green', 'Amber', 'Red', 'Not rated', 'Context') then 1 end) as n_with_data,
        count(case when rag_status = 'Green' then 1 end) as n_green,
        count(case when rag_status = 'Green' and direction_of_travel = 'improving' then 1 end)
            as n_green_improving,
        count(case when rag_status = 'Green' and direction_of_travel = 'declining' then 1 end)
            as n_green_declining,
        count(case when rag_status = 'Green' and direction_of_travel = 'no change' then 1 end)
            as n_green_no_change,
        count(case when rag_status = 'Red' then 1 end) as n_red,
        count(case when rag_status = 'Red' and direction_of_travel = 'improving' then 1 end)
            as n_red_improving,
        count(case when rag_status = 'Red' and direction_of_travel = 'declining' then 1 end)
            as n_red_declining,
        count(case when rag_status = 'Red' and direction_of_travel = 'no change' then 1 end)
            as n_red_no_change,
        count(case when rag_status = 'Amber' then 1 end) as n_amber,
        count(case when rag_status = 'Not rated' then 1 end) as n_not_rated,
        count(case when rag_status = 'Context' then 1 end) as n_context,
        count(case when rag_status = 'No data' and period_key is not null then 1 end)
            as n_no_data_published,
        count(case when rag_status = 'No data' then 1 end) as n_to_be_defined,
        count(case when coalesce(rag_reason, '') like 'No data (source not loaded:%' then 1 end)
            as n_source_not_loaded
    from headline
    group by reporting_period, reporting_date, la_code

)

select
    reporting_period,
    reporting_date,
    la_code,
    la_name,
    n_measures,
    n_with_data,
    n_green,
    n_green_improving,
    n_green_declining,
    n_red,
    n_red_improving,
    n_red_declining,
    n_amber,
    n_not_rated,
    n_context,
    n_no_data_published,
    n_to_be_defined,
    {{ count_of_measures('n_with_data') }} || ' with data available & updated for this report: '
    || cast(n_green as {{ dbt.type_string() }}) || ' Green'
    || {{ trend_in_words('n_green', 'n_green_improving', 'n_green_declining', 'n_green_no_change') }}
    || ', ' || cast(n_red as {{ dbt.type_string() }}) || ' Red'
    || {{ trend_in_words('n_red', 'n_red_improving', 'n_red_declining', 'n_red_no_change') }}
    || ', ' || cast(n_amber as {{ dbt.type_string() }}) || ' Amber; '
    || cast(n_not_rated as {{ dbt.type_string() }}) || ' not rated (no target and no benchmark), '
    || cast(n_context as {{ dbt.type_string() }}) || ' context. '
    || {{ count_of_measures('n_to_be_defined') }}
    || ' to be further defined, or where data will be supplied soon.'
    || case
        when n_source_not_loaded > 0
            then
                ' ' || {{ count_of_measures('n_source_not_loaded') }}
                || ' of these because their source was not loaded.'
        else ''
    end as summary_sentence
from counted
