-- Every file load the ingest attempted (meta.file_loads: loaded, skipped, failed, quarantined);
-- empty in a warehouse built by dbt alone, where the table does not exist.
{{ select_optional(warehouse_relation('meta', 'file_loads'), [
    ['source', 'varchar'],
    ['source_file', 'varchar'],
    ['file_sha256', 'varchar'],
    ['release', 'varchar'],
    ['rows', 'bigint'],
    ['status', 'varchar'],
    ['message', 'varchar'],
    ['loaded_at', 'timestamp'],
]) }}
