-- SEN2 returns loaded (one row per return and extract date); empty when none was loaded.
{{ select_optional(source('raw', 'sen2_returns'), [
    ['la_number', 'varchar'],
    ['collection', 'varchar'],
    ['year', 'integer'],
    ['reference_date', 'date'],
    ['extract_date', 'date'],
    ['spec_version', 'varchar'],
    ['persons', 'bigint'],
    ['requests', 'bigint'],
    ['source_file', 'varchar'],
    ['loaded_at', 'timestamp'],
]) }}
