-- Which national raw sources were loaded (design.md section 8: any subset of sources builds). A raw
-- table exists once a file of it was loaded; a source whose table does not exist is not loaded,
-- and the KPIs built only from such sources show "No data (source not loaded: ...)".
{%- set national = [] %}
{%- for node in graph.sources.values() %}
{%- if node.source_name == 'raw' and not node.name.startswith('local_') %}
{%- do national.append(node) %}
{%- endif %}
{%- endfor %}
{%- for node in national | sort(attribute='name') %}
{%- set found = none %}
{%- if execute %}
{%- set found = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) %}
{%- endif %}
select
    '{{ node.name }}' as source,
    {{ 'true' if found is not none else 'false' }} as is_loaded
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
