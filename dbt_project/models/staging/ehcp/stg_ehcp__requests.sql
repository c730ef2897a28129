-- Requests for an EHC needs assessment and the disputes they led to (calendar years).
{{ ees_staging('ehcp_requests', "breakdown_topic || '|' || breakdown", ['breakdown_topic', 'breakdown'],
    older_layouts=true) }}
