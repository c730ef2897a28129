-- KPI values of family E from their national sources (see macros/kpi_values_for_family.sql).
{{ kpi_values_for_family('E') }}
