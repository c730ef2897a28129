-- SEN2 plan detail and placement detail records (pseudonymised); empty when no SEN2 return was loaded.
{{ select_optional(source('raw', 'sen2_placements'), [
    ['extract_date', 'date'],
    ['request_key', 'varchar'],
    ['person_key', 'varchar'],
    ['record', 'varchar'],
    ['urn', 'varchar'],
    ['ukprn', 'varchar'],
    ['sen_setting', 'varchar'],
    ['placement_rank', 'integer'],
    ['entry_date', 'date'],
    ['leaving_date', 'date'],
]) }}
