-- Per raw source, whether a file's latest attempt was refused (failed its contract or was
-- quarantined by the quality gate), and why (the last good data stays in place, so the KPIs
-- built from it are stale). Files skipped as already loaded are not attempts. quality_note is the
-- plain-words note beside every KPI built from the source. Empty when meta.file_loads does not
-- exist.

-- the reason without the file name the message starts with ("x.csv was quarantined: ...")
{%- set refusal_reason %}
            case
                when {{ starts_with('latest_refusal.message', "latest_refusal.source_file || ' was quarantined: '") }}
                    then substr(latest_refusal.message, length(latest_refusal.source_file) + 19)
                when {{ starts_with('latest_refusal.message', "latest_refusal.source_file || ': '") }}
                    then substr(latest_refusal.message, length(latest_refusal.source_file) + 3)
                else coalesce(latest_refusal.message, 'no reason recorded')
            end
{%- endset %}

with loads as (

    select *
    from {{ ref('stg_meta__file_loads') }}
    where status in ('loaded', 'failed', 'quarantined')

),

last_good as (

    select
        source,
        source_file as last_good_file,
        loaded_at as last_good_loaded_at,
        row_number() over (partition by source order by loaded_at desc, source_file desc) as recency
    from loads
    where status = 'loaded'

),

-- the latest attempt at each file of a source: a file whose latest attempt was refused keeps the
-- periods it would have replaced on their last good data, even when other files of the source
-- (another year's file, say) loaded after it. A file is known by its name without the release zip
-- it came in, so a later release's good timeliness_20_week.csv clears an earlier refused one.
latest_attempt_per_file as (

    select
        source,
        source_file,
        status,
        message,
        loaded_at,
        row_number() over (
            partition by source, {{ regexp_replace_all('source_file', '^.*[!/]', '') }} order by loaded_at desc
        ) as file_recency
    from loads

),

latest_refusal as (

    select
        source,
        source_file,
        status,
        message,
        loaded_at,
        row_number() over (partition by source order by loaded_at desc, source_file desc) as recency
    from latest_attempt_per_file
    where file_recency = 1 and status in ('failed', 'quarantined')

),

sources as (

    select distinct source from loads

),

assessed as (

    select
        sources.source,
        latest_refusal.source_file as latest_file,
        latest_refusal.status as latest_status,
        latest_refusal.loaded_at as latest_attempted_at,
        latest_refusal.message as latest_message,
        last_good.last_good_file,
        last_good.last_good_loaded_at,
        latest_refusal.source is not null as is_stale,
        {{ rtrim_chars(refusal_reason, '.') }} as refusal_reason,
        case latest_refusal.status when 'failed' then 'refused' else latest_refusal.status end as status_word
    from sources
    left join latest_refusal
        on
            sources.source = latest_refusal.source
            and latest_refusal.recency = 1
    left join last_good
        on
            sources.source = last_good.source
            and last_good.recency = 1

)

select
    source,
    latest_file,
    latest_status,
    latest_attempted_at,
    latest_message,
    last_good_file,
    last_good_loaded_at,
    is_stale,
    case when is_stale then refusal_reason end as refusal_reason,
    case
        when is_stale and last_good_file is not null
            then
                'Stale: the latest ' || latest_file || ' was ' || status_word || ' (' || refusal_reason
                || '); showing the last good data (' || last_good_file || ').'
        when is_stale
            then
                'No data: the latest ' || latest_file || ' was ' || status_word || ' (' || refusal_reason
                || ') and no earlier file of this source has loaded.'
    end as quality_note
from assessed
