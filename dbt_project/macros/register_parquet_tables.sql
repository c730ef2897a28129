{#- Spark only: make the Parquet export of the warehouse (pipelines/spark.py,
    one folder per table: <parquet_dir>/<schema>/<table>/) the tables the sources read, in the
    session's catalogue. tables: the "schema.table" names exported. A table of those schemas that
    the export no longer has (a local extract of an earlier run) is dropped, so the models see
    exactly the export. Run by `send-scorecard spark build` before dbt build --target spark. -#}
{% macro register_parquet_tables(parquet_dir, tables) -%}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error(
            "register_parquet_tables is for the spark target; on " ~ target.type
            ~ " the raw tables are the warehouse's own.") }}
    {%- endif -%}
    {%- set wanted = {} -%}
    {%- for qualified in tables -%}
        {%- set parts = qualified.split('.') -%}
        {%- do wanted.setdefault(parts[0], []).append(parts[1]) -%}
    {%- endfor -%}
    {%- for schema, names in wanted.items() -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- for row in run_query('show tables in ' ~ schema) -%}
            {%- if row['tableName'] not in names and not row['isTemporary'] -%}
                {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ row['tableName']) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for name in names -%}
            {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ name) -%}
            {%- do run_query("create table " ~ schema ~ "." ~ name ~ " using parquet location '"
                ~ parquet_dir ~ "/" ~ schema ~ "/" ~ name ~ "'") -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ log("Registered " ~ (tables | length) ~ " Parquet tables from " ~ parquet_dir, info=true) }}
{%- endmacro %}
