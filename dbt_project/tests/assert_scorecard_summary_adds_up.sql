-- Every headline measure is counted once in the board summary: with data (G + R + A + not rated + context) or to be
-- defined. Each returned row is an LA whose counts do not add up.
select *
from {{ ref('fct_scorecard_summary') }}
where
    n_with_data + n_to_be_defined <> n_measures
    or n_green + n_red + n_amber + n_not_rated + n_context <> n_with_data
    or n_green_improving + n_green_declining > n_green
    or n_red_improving + n_red_declining > n_red
