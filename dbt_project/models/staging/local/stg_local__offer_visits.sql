-- Local Offer web analytics, one row per day and page; empty when no export was ever loaded.
{{ select_optional(source('raw', 'local_offer_visits'), [
    ['visit_date', 'date'],
    ['page_path', 'varchar'],
    ['page_views', 'bigint'],
    ['sessions', 'bigint'],
    ['users', 'bigint'],
    ['source_file', 'varchar'],
    ['source_row', 'bigint'],
]) }}
