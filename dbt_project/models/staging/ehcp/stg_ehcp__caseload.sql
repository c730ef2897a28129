-- EHC plans maintained and their placements. The release labels the census as an academic year
-- (202425); the count is as at January, so it is typed as a January snapshot (January 2025).
{{ ees_staging(
    'ehcp_caseload',
    "breakdown_topic || '|' || breakdown",
    ['breakdown_topic', 'breakdown'],
    january_snapshot=true
) }}
