-- Key stage 4 performance by pupil characteristics (Attainment 8, Progress 8). The breakdown names
-- the filter combination; the "SEN status" rows are the ones a KPI uses (the workbook repeats
-- some "Total" rows, which never match a KPI mapping).
{{ ees_staging(
    'ks4_characteristics',
    "breakdown || '|' || gender || '|' || sen_status",
    ['breakdown', 'gender', 'sen_status']
) }}
