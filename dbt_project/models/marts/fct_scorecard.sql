-- The scorecard: per LA, KPI and reporting period the latest value, the previous value and the
-- direction of travel, the target, the benchmarks and the RAG rating with its reason in words
-- (the defaults are data in rag_rules.csv and kpi_targets.csv).
--
-- Published and provisional figures: value, its RAG rating and benchmarks are the published annual
-- figure whenever one exists for the KPI; a KPI with no published figure at all shows its latest
-- local monthly value instead (source local_*). The latest local value is always beside it
-- (provisional_*). latest_value is the most recent of the two: the provisional monthly figure when
-- its period ends after the published period, else the published figure, which wins once it covers
-- the period (latest_value_basis says which, in words). is_stale / quality_note flag KPIs whose
-- source's latest file was refused (int_source_health).
with rows_to_rate as (

    select
        *,
        -- figures are compared at the precision the scorecard shows them, so a reason never says
        -- "7.8% is below 7.8%"
        {{ round_to('value', 'decimal_places') }} as value_compared,
        {{ round_to('previous_value', 'decimal_places') }} as previous_compared,
        {{ round_to('region_value', 'decimal_places') }} as region_compared,
        {{ round_to('england_value', 'decimal_places') }} as england_compared,
        {{ round_to('provisional_value', 'decimal_places') }} as provisional_compared,
        {{ round_to('provisional_previous_value', 'decimal_places') }} as provisional_previous_compared,
        {{ round_to('provisional_last_year_value', 'decimal_places') }} as provisional_last_year_compared
    from {{ ref('int_scorecard_rows') }}

),

compared as (

    select
        *,
        -- how the value stands against each comparator, from the reader's side of polarity
        case
            when polarity = 'Low' then target - value_compared
            else value_compared - target
        end as margin_to_target,
        {{ polarity_comparison('value_compared', 'region_compared') }} as against_region,
        {{ polarity_comparison('value_compared', 'england_compared') }} as against_england,
        {{ direction_of_travel('value_compared', 'previous_compared') }} as direction_of_travel,
        -- the provisional monthly figure against the previous month or snapshot
        {{ direction_of_travel('provisional_compared', 'provisional_previous_compared') }}
            as provisional_direction_vs_previous,
        -- the provisional monthly figure against the same month last year
        {{ direction_of_travel('provisional_compared', 'provisional_last_year_compared') }}
            as provisional_direction_vs_last_year,
        {{ format_kpi_value('value', 'unit', 'decimal_places') }} as value_text,
        {{ format_kpi_value('target', 'unit', 'decimal_places') }} as target_text,
        {{ format_kpi_value('region_value', 'unit', 'decimal_places') }} as region_text,
        {{ format_kpi_value('england_value', 'unit', 'decimal_places') }} as england_text,
        case
            when tolerance_type = 'relative'
                then {{ format_number('tolerance_percent_of_target', 0) }} || '% tolerance'
            when unit = 'count' then 'tolerance of ' || {{ format_number('target_tolerance', 'decimal_places') }}
            else
                {{ format_number('target_tolerance', 'greatest(decimal_places, 1)') }}
                || ' point tolerance'
        end as tolerance_text,
        case when polarity = 'Low' then 'above' else 'below' end as missed_word
    from rows_to_rate

),

rated as (

    select
        *,
        case
            when value is null then 'No data'
            when polarity = 'Context' then 'Context'
            when target is not null and margin_to_target >= -1e-9 then 'Green'
            when target is not null and -margin_to_target <= target_tolerance + 1e-9 then 'Green'
            when target is not null then 'Red'
            -- a performance measure without a target and without a benchmark to compare with is
            -- not rated (not a context measure): the board sees which measures lack a target
            when not coalesce(compare_without_target, false) or not is_benchmarked then 'Not rated'
            when against_region is null and against_england is null then 'Not rated'
            when coalesce(against_region, 'better') = 'better' and coalesce(against_england, 'better') = 'better'
                then 'Green'
            when coalesce(against_region, 'worse') = 'worse' and coalesce(against_england, 'worse') = 'worse'
                then 'Red'
            else 'Amber'
        end as rag_status
    from compared

),

words as (

    select
        *,
        case against_region
            when 'better' then case when polarity = 'Low' then 'below' else 'above' end
            when 'worse' then case when polarity = 'Low' then 'above' else 'below' end
            else 'level with'
        end as region_word,
        case against_england
            when 'better' then case when polarity = 'Low' then 'below' else 'above' end
            when 'worse' then case when polarity = 'Low' then 'above' else 'below' end
            else 'level with'
        end as england_word,
        'the ' || coalesce(region_name, 'regional') || ' figure (' || region_text || ')' as region_phrase,
        'England (' || england_text || ')' as england_phrase
    from rated

)

select
    reporting_period,
    reporting_date,
    la_code,
    la_name,
    kpi_id,
    display_order,
    parent_kpi_id,
    is_headline,
    title,
    family,
    unit,
    polarity,
    decimal_places,
    period_key,
    period_label,
    value,
    value_status,
    numerator,
    denominator,
    source,
    release,
    previous_period_key,
    previous_value,
    change_from_previous,
    direction_of_travel,
    target,
    target_from_period,
    target_tolerance,
    target_set_by,
    target_agreed_on,
    sn_average,
    sn_count_reported,
    sn_vintage,
    sn_pooled_rate,
    region_code,
    region_name,
    region_value,
    england_value,
    national_rank,
    n_ranked,
    quartile_band,
    rag_status,
    case
        when rag_status = 'No data' and sources_not_loaded is not null
            then 'No data (source not loaded: ' || sources_not_loaded || ')'
        else
            rag_status || ': ' || case
                when rag_status = 'No data' and period_key is null and not has_national_source
                    then 'no national source; local data for this measure has not been supplied yet'
                when rag_status = 'No data' and period_key is null
                    then 'no figure has been published for any LA yet'
                when rag_status = 'No data' and value_status = 'suppressed'
                    then 'the ' || period_label || ' figure is suppressed (c) to protect confidentiality'
                when rag_status = 'No data'
                    then 'no figure for ' || period_label || ' (' || replace(value_status, '_', ' ') || ')'
                when polarity = 'Context'
                    then value_text || ' is a context measure, shown for information and not rated'
                when target is not null and margin_to_target >= -1e-9
                    then value_text || ' meets the target of ' || target_text
                when target is not null and rag_status = 'Green'
                    then
                        value_text || ' is ' || missed_word || ' the target of ' || target_text
                        || ' by no more than the ' || tolerance_text || ' (very close to being achieved)'
                when target is not null
                    then
                        value_text || ' is ' || missed_word || ' the target of ' || target_text
                        || ' by more than the ' || tolerance_text
                when not coalesce(compare_without_target, false)
                    then
                        'no target and no benchmark; a '
                        || unit
                        || ' is not compared with other areas, which differ in size'
                when not is_benchmarked
                    then 'no target and no benchmark; this measure is not published for other areas to compare with'
                when against_region is null and against_england is null
                    then 'no target and no benchmark; no regional or England figure is published to compare with'
                when against_england is null
                    then
                        value_text
                        || ' is '
                        || region_word
                        || ' '
                        || region_phrase
                        || '; no England figure is published'
                when against_region is null
                    then
                        value_text
                        || ' is '
                        || england_word
                        || ' '
                        || england_phrase
                        || '; no regional figure is published'
                when region_word = england_word
                    then value_text || ' is ' || region_word || ' both ' || region_phrase || ' and ' || england_phrase
                else
                    value_text || ' is ' || region_word || ' ' || region_phrase
                    || ' and ' || england_word || ' ' || england_phrase
            end
            || case
                when rag_status in ('Green', 'Amber', 'Red') and target is null and polarity = 'Low'
                    then ' (lower is better)'
                else ''
            end
    end as rag_reason,
    case
        when value_status = 'low_reliability' then 'The value rests on inputs flagged as of low reliability'
    end as data_quality_flag,
    provisional_period_key,
    provisional_period_label,
    provisional_value,
    provisional_value_status,
    provisional_source,
    provisional_previous_value,
    provisional_direction_vs_previous,
    provisional_last_year_value,
    provisional_last_year_period_label,
    provisional_direction_vs_last_year,
    case
        when
            provisional_period_key is not null and not coalesce(is_local_value, false)
            and (published_period_end is null or provisional_period_end > published_period_end)
            then provisional_value
        else value
    end as latest_value,
    case
        when
            provisional_period_key is not null and not coalesce(is_local_value, false)
            and (published_period_end is null or provisional_period_end > published_period_end)
            then provisional_period_label
        else period_label
    end as latest_period_label,
    case
        when provisional_period_key is null and value is null then null
        when provisional_period_key is null then 'published'
        when coalesce(is_local_value, false)
            then
                'provisional: no figure has been published; the local figure for ' || provisional_period_label
                || ' is shown and rated'
        when published_period_end is null or provisional_period_end > published_period_end
            then
                'provisional: the local figure for ' || provisional_period_label || ' is newer than the published '
                || coalesce(period_label, '') || ' figure, which the rating and benchmarks use'
        else
            'published: the published ' || period_label || ' figure covers the period of the local figure for '
            || provisional_period_label || ', so the scorecard uses the published figure'
    end as latest_value_basis,
    coalesce(is_stale, false) as is_stale,
    quality_note
from words
