-- SEND training completions (pseudonymised staff), one row per staff member, course and
-- completion; empty when no training records were ever loaded.
{{ select_optional(source('raw', 'local_training'), [
    ['staff_key', 'varchar'],
    ['course', 'varchar'],
    ['organisation', 'varchar'],
    ['completed_date', 'date'],
    ['source_file', 'varchar'],
    ['source_row', 'bigint'],
]) }}
