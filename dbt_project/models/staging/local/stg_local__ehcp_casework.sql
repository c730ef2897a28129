-- EHCP casework snapshots (pseudonymised), one row per request per extract; empty when no casework
-- extract was ever loaded (real-data runs have no local tables).
{{ select_optional(source('raw', 'local_ehcp_casework'), [
    ['extract_date', 'date'],
    ['request_key', 'varchar'],
    ['person_key', 'varchar'],
    ['age_band_at_request', 'varchar'],
    ['request_received_date', 'date'],
    ['decision_to_assess', 'boolean'],
    ['decision_to_assess_date', 'date'],
    ['assessment_outcome', 'varchar'],
    ['assessment_outcome_date', 'date'],
    ['plan_issue_date', 'date'],
    ['exception_flag', 'boolean'],
    ['mediation_date', 'date'],
    ['tribunal_date', 'date'],
    ['placement_type', 'varchar'],
    ['placement_location', 'varchar'],
    ['plan_ceased_date', 'date'],
    ['source_file', 'varchar'],
    ['source_row', 'bigint'],
]) }}
