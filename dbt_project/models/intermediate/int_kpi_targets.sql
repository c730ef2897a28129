-- Targets per LA and KPI: the owner's targets file (raw.kpi_targets), the kpi_targets seed (empty: the
-- project ships none) and any given in the kpi_target_overrides var, which win over a row with the
-- same LA, KPI and from_period; the file wins over the seed. Each keeps who set it and when. A target
-- applies to the periods that start on or after its from_period, until a later target replaces it.
{%- set overrides = var('kpi_target_overrides', []) %}

with seeded as (

    select
        cast(la_code as {{ dbt.type_string() }}) as la_code,
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(from_period as {{ dbt.type_string() }}) as from_period,
        cast(target as {{ type_double() }}) as target,
        cast(tolerance as {{ type_double() }}) as tolerance,
        cast(set_by as {{ dbt.type_string() }}) as set_by,
        cast(null as date) as agreed_on,
        'kpi_targets seed' as target_source
    from {{ ref('kpi_targets') }} as seed_rows
    where
        not exists (
            select 1
            from {{ ref('stg_local__kpi_targets') }} as owner_file
            where
                owner_file.la_code = seed_rows.la_code
                and owner_file.kpi_id = seed_rows.kpi_id
                and owner_file.from_period = seed_rows.from_period
        )

    union all

    select
        la_code,
        kpi_id,
        from_period,
        target,
        tolerance,
        set_by,
        agreed_on,
        'targets file ' || source_file as target_source
    from {{ ref('stg_local__kpi_targets') }}

),

overridden as (

    {% for row in overrides -%}
    select
        cast('{{ row["la_code"] }}' as {{ dbt.type_string() }}) as la_code,
        cast('{{ row["kpi_id"] }}' as {{ dbt.type_string() }}) as kpi_id,
        cast('{{ row["from_period"] }}' as {{ dbt.type_string() }}) as from_period,
        cast({{ row["target"] | float }} as {{ type_double() }}) as target,
        cast({{ row["tolerance"] | float if row.get("tolerance") is not none else "null" }} as {{ type_double() }}) as tolerance,
        cast('{{ row.get("set_by", "kpi_target_overrides var") }}' as {{ dbt.type_string() }}) as set_by,
        cast(null as date) as agreed_on,
        'kpi_target_overrides var' as target_source
    {% if not loop.last %}union all
    {% endif %}
    {%- else -%}
    select * from seeded
    where 1 = 0
    {%- endfor %}

),

combined as (

    select * from overridden
    union all
    select seeded.*
    from seeded
    where not exists (
        select 1
        from overridden
        where
            overridden.la_code = seeded.la_code
            and overridden.kpi_id = seeded.kpi_id
            and overridden.from_period = seeded.from_period
    )

)

select
    la_code,
    kpi_id,
    from_period,
    {{ period_start_from_key('from_period') }} as applies_from,
    target,
    tolerance,
    set_by,
    agreed_on,
    target_source
from combined
