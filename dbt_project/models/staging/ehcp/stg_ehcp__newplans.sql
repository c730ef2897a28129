-- New EHC plans made in the calendar year, by placement.
{{ ees_staging('ehcp_newplans', "breakdown_topic || '|' || breakdown", ['breakdown_topic', 'breakdown']) }}
