-- Every release's value of every national KPI, source, geography and period: the same rules as
-- the current values (macros/kpi_values_for_family.sql), applied to each release's cells, the
-- superseded ones included (design.md section 8). fct_kpi_revisions compares the first and the last.
{{ kpi_values_for_family(none, by_release=true) }}
