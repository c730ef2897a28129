-- NEET and not known 16-17 year olds by LA, with the EHC plan / SEN support splits.
{{ ees_staging('neet_send', 'age', ['age']) }}
