-- Post-16 (NCCIS-style) caseload (pseudonymised), one row per young person per month; empty when
-- no caseload was ever loaded.
{{ select_optional(source('raw', 'local_post16_tracking'), [
    ['month', 'date'],
    ['young_person_key', 'varchar'],
    ['academic_age', 'integer'],
    ['send_status', 'varchar'],
    ['activity', 'varchar'],
    ['social_care_activity', 'boolean'],
    ['living_arrangement', 'varchar'],
    ['annual_health_check', 'boolean'],
    ['source_file', 'varchar'],
    ['source_row', 'bigint'],
]) }}
