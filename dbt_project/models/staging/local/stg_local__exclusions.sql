-- Suspensions and permanent exclusions (pseudonymised), one row per exclusion; empty when no
-- exclusions log was ever loaded.
{{ select_optional(source('raw', 'local_exclusions'), [
    ['pupil_key', 'varchar'],
    ['school', 'varchar'],
    ['exclusion_date', 'date'],
    ['exclusion_type', 'varchar'],
    ['sessions', 'double'],
    ['sen_provision', 'varchar'],
    ['source_file', 'varchar'],
    ['source_row', 'bigint'],
]) }}
