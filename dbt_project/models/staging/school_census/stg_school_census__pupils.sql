-- School census headcounts by phase, ethnicity and first language.
{{ ees_staging(
    'school_pupils',
    "phase_type_grouping || '|' || ethnicity || '|' || language",
    ['phase_type_grouping', 'ethnicity', 'language']
) }}
