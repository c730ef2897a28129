-- KPI values of family P from their national sources (see macros/kpi_values_for_family.sql).
{{ kpi_values_for_family('P') }}
