{#- Tables that exist only once a file of them was loaded (the raw.local_* extracts, which real-data
    runs never have; meta.file_loads in a warehouse built by dbt alone). select_optional() selects
    the given columns, cast to their types, from the relation when it exists, and otherwise an empty
    set of the same columns and types (`where false`), so every model downstream builds either way.
    A column the table lacks (an older load without an optional column) is selected as NULL.

    columns: a list of [name, type] pairs ('varchar' is the engine's string type, dbt.type_string(),
    as Spark has no varchar without a length). relation: a source() or api.Relation. -#}
{% macro select_optional(relation, columns) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- endif -%}
    {%- set present = [] -%}
    {%- if found is not none -%}
        {%- for column in adapter.get_columns_in_relation(found) -%}
            {%- do present.append(column.name | lower) -%}
        {%- endfor -%}
    {%- endif %}
    select
        {%- for name, declared_type in columns %}
        {%- set type = dbt.type_string() if declared_type | lower == 'varchar' else declared_type %}
        {% if name | lower in present -%}
        cast({{ adapter.quote(name) }} as {{ type }}) as {{ name }}
        {%- else -%}
        cast(null as {{ type }}) as {{ name }}
        {%- endif %}{{ "," if not loop.last }}
        {%- endfor %}
    {% if found is not none -%}
    from {{ found }}
    {%- else -%}
    -- {{ relation.schema }}.{{ relation.identifier }} does not exist (nothing of it was loaded yet)
    where false
    {%- endif %}
{%- endmacro %}


{#- A relation outside the sources (meta.*, quarantine.*), in the target database. -#}
{% macro warehouse_relation(schema, identifier) -%}
    {#- Spark has no database level (schema = database): its target has none -#}
    {%- set database = target.database if target.database is defined else none -%}
    {{ return(api.Relation.create(database=database, schema=schema, identifier=identifier)) }}
{%- endmacro %}


{#- The current rows of a raw national table (design.md section 8): every release stays in raw, and
    the rows a newer release superseded are left out. A table that was never loaded (a drop-zone
    without that source) is an empty set of `columns` ([name, type] pairs), so any subset of sources
    builds; int_source_loads says which sources were not loaded. -#}
{% macro current_rows(table_name, columns) -%}
    {{ release_rows(table_name, columns, current_only=true) }}
{%- endmacro %}


{#- Every release's rows of a raw national table, each with is_current (false where a newer release
    superseded it): the revisions mart compares a figure as first published with the figure now.
    current_only=true leaves out the superseded rows (current_rows). -#}
{% macro release_rows(table_name, columns, current_only=false) -%}
    {%- set relation = source('raw', table_name) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- endif -%}
    {%- if found is not none -%}
    select
        *,
        not coalesce(is_superseded, false) as is_current
    from {{ relation }}
    {%- if current_only %}
    where not coalesce(is_superseded, false)
    {%- endif %}
    {%- else -%}
    select
        optional_rows.*,
        true as is_current
    from ({{ select_optional(relation, columns) }}) as optional_rows
    {%- endif -%}
{%- endmacro %}


{#- The columns every EES tidy raw table has (pipelines/ingest/sources.py), plus the given filters. -#}
{% macro ees_raw_columns(filters) -%}
    {%- set columns = [] -%}
    {%- for name in ['time_period', 'time_identifier', 'geographic_level', 'country_code', 'region_code',
                     'region_name', 'new_la_code', 'old_la_code', 'la_name'] + filters + ['measure', 'value_raw',
                     'value_status', 'release', 'source_file', 'file_sha256', 'release_order'] -%}
        {%- do columns.append([name, dbt.type_string()]) -%}
    {%- endfor -%}
    {%- do columns.append(['value', type_double()]) -%}
    {%- do columns.append(['source_row', dbt.type_bigint()]) -%}
    {{ return(columns) }}
{%- endmacro %}
