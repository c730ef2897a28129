-- New EHC plans issued within 20 weeks (SEN2, calendar years), one row per published cell.
{{ ees_staging('ehcp_timeliness', "breakdown_topic || '|' || breakdown", ['breakdown_topic', 'breakdown'],
    older_layouts=true) }}
