-- The scorecard owner's targets (the targets file in the drop-zone, pipelines/ingest/targets.py);
-- empty when no targets file was ever loaded: the project ships none.
{{ select_optional(source('raw', 'kpi_targets'), [
    ['la_code', 'varchar'],
    ['kpi_id', 'varchar'],
    ['from_period', 'varchar'],
    ['target', 'double'],
    ['tolerance', 'double'],
    ['set_by', 'varchar'],
    ['agreed_on', 'date'],
    ['note', 'varchar'],
    ['source_file', 'varchar'],
]) }}
