-- The casework flows per month and over the rolling 12 months ending in each month (from the
-- first day of the month 11 months earlier to the month's period_end). A rolling window is given
-- only when all 12 of its months lie within the casework months: no partial windows at the start.
{{ month_and_rolling_12_months(ref('int_local__flow_counts'), ['kpi_id', 'measure', 'unit']) }}
