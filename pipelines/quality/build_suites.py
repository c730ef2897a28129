"""Write the expectation suites (`expectations/<raw table>.json`) from the compact definitions below.

The JSON files are the reviewed, committed artefact; this script is how they are maintained:

    .venv/bin/python -m pipelines.quality.build_suites          # rewrite expectations/*.json
    .venv/bin/python -m pipelines.quality.build_suites --check  # exit 1 if a committed file is stale

Every expectation carries in its `meta`:
- `check`: a short stable name (what tests, reports and quarantine rows refer to);
- `severity`: `fail` blocks the load (the file is quarantined), `warn` lets it through but is reported;
- `description`: what the check means in plain words;
- `failure`: the sentence used when it fails; `{rows}` ("14 rows"), `{have}`, `{outside}` ("above 100"),
  `{where}` (" (column value, measure pc_x)"), `{missing}`, `{observed}`, `{min_rows}`, `{baseline}` are filled in;
- `reason` (quirks only): why a real published file breaks the rule and what was decided.

Helper columns (`dq_*`) that the expectations refer to are declared in the suite's `meta.helpers` and
computed by `pipelines/quality/suites.py` in the frame that is validated; values supplied at
validation time (`{"$PARAMETER": ...}`) are described in `meta.parameters`.

A source without a definition here (for example a local extract added later) still gets a generic
suite from its SourceSpec: see `build_suite`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines.ingest.sources import EES_GEOGRAPHY_COLUMNS, SOURCES, SOURCES_BY_TABLE, SourceSpec
from pipelines.ingest.values import VALUE_STATUSES
from pipelines.quality.suite_files import DISTINCT_SAFE, expectation_columns, suites_dir

LINEAGE_COLUMNS = ("source_row", "source_file", "file_sha256", "release", "loaded_at")
GX_SEVERITY = {"fail": "critical", "warn": "warning"}
EES_LEVELS = ("National", "Regional", "Local authority")
LAIT_LEVELS = ("National", "Regional", "Sub-regional", "Local authority")
PARAMETERS = {
    "min_rows": "60% of the rows of the previous load of this source (the same file name when there is one), "
                "from meta.file_loads; 1 when there is none",
    "max_year": "the current calendar year + 1",
    "la_codes": "every new_la_code in raw.la_reference (combined codes also split), else the package's "
                "bundled LA list; the check is skipped when neither exists",
}
SUITE_FORMAT_VERSION = 1


# --- the expectation vocabulary -------------------------------------------------------------------

def expect(type_: str, check: str, severity: str, description: str, failure: str, *, reason: str | None = None,
           row_condition: str | None = None, **kwargs) -> dict:
    """One expectation in GX's JSON form, with its severity and words in `meta`."""
    if row_condition:
        kwargs = {**kwargs, "row_condition": row_condition, "condition_parser": "pandas"}
    meta = {"check": check, "severity": severity, "description": description, "failure": failure}
    if reason:
        meta["reason"] = reason
    return {"type": type_, "kwargs": kwargs, "meta": meta, "severity": GX_SEVERITY[severity]}


def columns_present(columns: tuple[str, ...] | list[str], table: str) -> dict:
    return expect(
        "expect_table_columns_to_match_set", "columns_present", "fail",
        f"The parsed file has every column of raw.{table}", "the column(s) {missing} are missing",
        column_set=sorted(dict.fromkeys(columns)), exact_match=False,
    )


def measures_present(measures: list[str], column: str = "measure", severity: str = "fail",
                     reason: str | None = None) -> dict:
    return expect(
        "expect_column_distinct_values_to_contain_set", "measures_present", severity,
        "The file publishes the measures the scorecard needs (" + ", ".join(measures) + ")",
        "the measure(s) {missing} are missing", reason=reason, column=column, value_set=measures,
    )


def not_null(column: str, what: str, severity: str = "fail", *, check: str | None = None,
             row_condition: str | None = None, reason: str | None = None) -> dict:
    return expect(
        "expect_column_values_to_not_be_null", check or f"{column}_not_null", severity,
        f"Every {what} is filled in", "{rows} {have} no " + what + "{where}",
        reason=reason, row_condition=row_condition, column=column,
    )


def unique(columns: tuple[str, ...], severity: str = "fail", reason: str | None = None) -> dict:
    words = ", ".join(columns)
    if len(columns) == 1:
        return expect("expect_column_values_to_be_unique", "key_unique", severity,
                      f"No two rows share the same {words}", "{rows} share their " + words + " with another row",
                      reason=reason, column=columns[0])
    return expect("expect_compound_columns_to_be_unique", "key_unique", severity,
                  f"No two rows share the same key ({words})",
                  "{rows} repeat the key of another row (" + words + ")",
                  reason=reason, column_list=list(columns), ignore_row_if="all_values_are_missing")


def value_status_known() -> dict:
    return expect("expect_column_values_to_be_in_set", "value_status_known", "fail",
                  "Every value status is one of " + ", ".join(VALUE_STATUSES),
                  "{rows} {have} an unknown value status{where}", column="value_status", value_set=list(VALUE_STATUSES))


def value_present_when_ok() -> dict:
    return expect("expect_column_values_to_not_be_null", "value_present_when_ok", "fail",
                  "Every cell with status ok has a number", "{rows} {have} status ok but no number{where}",
                  column="value", row_condition='value_status=="ok"')


def levels_known(levels: tuple[str, ...]) -> dict:
    return expect("expect_column_values_to_be_in_set", "geographic_level_known", "fail",
                  "Every geographic level is one of " + ", ".join(levels),
                  "{rows} {have} an unexpected geographic level{where}", column="geographic_level", value_set=list(levels))


def period_format(column: str, regex: str, example: str, severity: str = "fail", reason: str | None = None) -> dict:
    return expect("expect_column_values_to_match_regex", "period_format", severity,
                  f"Every period is written as published ({example})",
                  "{rows} {have} a period that is not written like " + example + "{where}",
                  reason=reason, column=column, regex=regex)


def period_in_range() -> dict:
    return expect("expect_column_values_to_be_between", "period_in_range", "fail",
                  "Every period starts between 2000 and next year",
                  "{rows} {have} a period outside 2000 to next year", column="dq_period_year",
                  min_value=2000, max_value={"$PARAMETER": "max_year"})


def la_codes_known(column: str = "new_la_code", row_condition: str | None = 'geographic_level=="Local authority"',
                   what: str = "LA code") -> dict:
    return expect("expect_column_values_to_be_in_set", f"{column}_in_la_reference", "fail",
                  f"Every {what} exists in the LA reference",
                  "{rows} {have} an " + what + " that is not in the LA reference{where}",
                  row_condition=row_condition, column=column, value_set={"$PARAMETER": "la_codes"})


def row_count(severity: str = "fail", reason: str | None = None) -> dict:
    return expect("expect_table_row_count_to_be_between", "row_count_vs_previous", severity,
                  "The file has at least 60% of the rows of the previous load of this source",
                  "it has {observed} rows, fewer than the {min_rows} expected from the previous load ({baseline})",
                  reason=reason, min_value={"$PARAMETER": "min_rows"})


def national_equals_regions(tolerance: float = 0.5, reason: str | None = None) -> dict:
    return expect("expect_column_values_to_be_between", "national_equals_sum_of_regions", "warn",
                  "Every national count equals the sum of the regional counts (where all regions are published)",
                  "{rows} {have} a national count that differs from the sum of the regions{where}", reason=reason,
                  column="dq_national_minus_regions", min_value=-tolerance, max_value=tolerance,
                  row_condition='dq_measure_kind=="count"')


# What each kind of measure must satisfy: (check, severity, kind of test). Kinds with a suffix are the
# documented exceptions of real files: the rule that they break is reported (warn), not enforced.
KIND_CHECKS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "percentage": (("percentages_in_range", "fail", "0..100"),),
    "percentage_may_exceed_100": (("percentages_not_negative", "fail", ">=0"),
                                  ("percentages_up_to_100", "warn", "<=100")),
    "count": (("counts_not_negative", "fail", ">=0"), ("counts_whole", "fail", "whole")),
    "count_may_be_negative": (("counts_whole", "fail", "whole"), ("counts_may_be_negative", "warn", ">=0")),
    "count_may_be_fractional": (("counts_not_negative", "fail", ">=0"), ("counts_may_be_fractional", "warn", "whole")),
    "non_negative": (("values_not_negative", "fail", ">=0"),),
}
KIND_WORDS = {
    "percentage": "percentage", "percentage_may_exceed_100": "percentage", "count": "count",
    "count_may_be_negative": "count", "count_may_be_fractional": "count", "non_negative": "rate or total",
}


def measure_value_checks(rules: list[dict]) -> list[dict]:
    """The value checks for every kind of measure that `rules` (dq_measure_kind) can produce; a check
    shared by several kinds (counts_whole for count and count_may_be_negative) is one expectation."""
    kinds_of: dict[tuple[str, str, str], list[str]] = {}
    for kind in dict.fromkeys(rule["kind"] for rule in rules):
        for spec in KIND_CHECKS.get(kind, ()):
            kinds_of.setdefault(spec, []).append(kind)
    out = []
    for (check, severity, test), kinds in kinds_of.items():
        condition = (f'dq_measure_kind=="{kinds[0]}"' if len(kinds) == 1
                     else "dq_measure_kind in [" + ", ".join(f'"{k}"' for k in kinds) + "]")
        reason = None
        if severity == "warn":
            reason = " ".join(r["reason"] for r in rules if r["kind"] in kinds and r.get("reason")) or None
        word = KIND_WORDS[kinds[0]]
        if test == "0..100":
            out.append(expect("expect_column_values_to_be_between", check, severity,
                              "Every percentage is between 0 and 100", "{rows} {have} a percentage {outside}{where}",
                              reason=reason, row_condition=condition, column="value", min_value=0, max_value=100))
        elif test == "<=100":
            out.append(expect("expect_column_values_to_be_between", check, severity,
                              "Every percentage is at most 100", "{rows} {have} a percentage above 100{where}",
                              reason=reason, row_condition=condition, column="value", max_value=100))
        elif test == ">=0":
            out.append(expect("expect_column_values_to_be_between", check, severity, f"Every {word} is zero or more",
                              "{rows} {have} a negative " + word + "{where}",
                              reason=reason, row_condition=condition, column="value", min_value=0))
        elif test == "whole":
            out.append(expect("expect_column_values_to_be_in_set", check, severity, "Every count is a whole number",
                              "{rows} {have} a count that is not a whole number{where}",
                              reason=reason, row_condition=condition, column="dq_whole_number", value_set=[True]))
    return out


# --- helper column declarations (computed in suites.py) --------------------------------------------

def measure_kind_helper(rules: list[dict], column: str = "measure", lookup: dict | None = None) -> dict:
    helper = {"name": "dq_measure_kind", "kind": "measure_kind", "column": column, "rules": rules}
    if lookup:
        helper["lookup"] = lookup
    return helper


def period_year_helper(column: str) -> dict:
    return {"name": "dq_period_year", "kind": "period_year", "column": column,
            "meaning": "the first year of the period (2023 for 2023, 202324, 2023/24, 2023-25), null if none"}


WHOLE_NUMBER_HELPER = {"name": "dq_whole_number", "kind": "whole_number", "column": "value",
                       "meaning": "true when value is a whole number, null when there is no value"}


def national_helper(group_by: list[str]) -> dict:
    return {"name": "dq_national_minus_regions", "kind": "national_minus_regions", "value": "value",
            "status": "value_status", "level": "geographic_level", "region": "region_code", "group_by": group_by,
            "meaning": "on National rows: value minus the sum of the Regional values of the same period, "
                       "breakdown and measure, when every region of the file is published with status ok"}


# --- per-source definitions --------------------------------------------------------------------------

EHCP_MEASURES = [
    {"kind": "percentage", "pattern": r"(^pc_|_pc$)"},
    {"kind": "count", "pattern": r".*"},
]

# Published quirks found in the real files (../shared/data), each kept as a warning with its reason.
EES_OPTIONS: dict[str, dict] = {
    "ehcp_annual_reviews": {
        "measures": [
            {"kind": "percentage", "pattern": r"(^pc_|_pc$)"},
            {"kind": "count_may_be_negative", "names": ["no_outcome", "review_decision_outstanding"],
             "reason": "The 2025 release derives no_outcome and review_decision_outstanding as differences of "
                       "other counts; a few LA rows are negative (down to -447). Reported, not blocked: the "
                       "scorecard does not use these two measures."},
            {"kind": "count", "pattern": r".*"},
        ],
        "national_sum": True,
    },
    "neet_send": {
        "measures": [
            {"kind": "percentage_may_exceed_100", "names": ["september_guarantee_offer_made_percent"],
             "reason": "The September guarantee offer rate counts offers to young people who joined the cohort "
                       "after it was fixed; the 2023 file publishes 100.2 for one LA. Reported, not blocked."},
            {"kind": "percentage", "pattern": r"(_percent|_percentage)$"},
            {"kind": "count", "names": ["cohort_march", "age1617_ons_population"]},
        ],
        "national_sum": False,  # cohorts are rounded and the rest are rates: no additive guarantee
    },
    "exclusions": {
        "measures": [
            {"kind": "percentage", "names": ["perm_excl_rate", "one_plus_susp_rate"]},
            {"kind": "non_negative", "names": ["susp_rate"],
             "reason": "susp_rate is suspensions per 100 pupils, so it can exceed 100 (special schools)."},
            {"kind": "count_may_be_fractional", "names": ["perm_excl"],
             "reason": "2007/08 and 2009/10 rows of a few LAs (Hounslow, Lincolnshire, Brent) and their "
                       "regional/national totals publish fractional permanent exclusions such as 69.0003 "
                       "(a DfE estimation artefact). Reported, not blocked."},
            {"kind": "count", "names": ["headcount", "num_schools", "one_plus_susp", "suspension"]},
        ],
        "national_sum": True,
        "national_reason": "2006/07: the national number of schools and of permanent exclusions exceed the sum "
                           "of the regions by 1 and 20 (DfE's own published totals).",
        "la_code_placeholder": "x",
        "la_code_reason": "Cheshire (875) and Bedfordshire (820) rows for 2006/07 to 2008/09 are published with "
                          "new_la_code 'x': both councils were abolished in 2009. dbt identifies them by "
                          "old_la_code; reported, not blocked.",
    },
    "school_pupils": {
        "measures": [
            {"kind": "percentage", "names": ["percent_of_pupils"]},
            {"kind": "count", "names": ["headcount"]},
        ],
        "national_sum": True,
    },
    "ks4_characteristics": {
        "measures": [
            {"kind": "percentage", "pattern": r"^pt_"},
            {"kind": "non_negative", "names": ["t_att8", "t_ebaccaps", "avg_att8", "avg_att8_unrounded",
                                               "avg_ebaccaps"]},
            {"kind": "count", "pattern": r"^t_(pupils|schools|ebacc_|entbasics|inp8calc|l2basics_)"},
        ],
        "national_sum": False,  # national rows include pupils not in any LA's schools
        "key": ("time_period", "geographic_level", "region_code", "new_la_code", "version", "school_characteristic",
                "breakdown", "gender", "ethnic_major", "free_school_meals", "sen_status", "sen_description",
                "disadvantage", "first_language", "measure"),
        "key_severity": "warn",
        "key_reason": "The 2018/19 workbook repeats its 'Total' rows (1,224 repeated keys, same figures); "
                      "dbt keeps one. Reported, not blocked.",
    },
}


# An earlier edition's main table, read through the alias table onto today's measure names
# (pipelines/reference/ehcp_main_table_layouts.csv): the EES checks, without the national = sum of
# regions rule (the editions' regional rows are not checked against their national ones yet).
EES_OPTIONS["ehcp_main_table"] = {
    "measures": [
        {"kind": "percentage_may_exceed_100", "names": ["new_all_ehc_pc"],
         "reason": "The 2023 edition publishes 113.51 for Wakefield 2022 in new_all_ehc_pc (new plans as a "
                   "percentage of assessments, which can count plans from earlier assessments). Reported, not "
                   "blocked: no KPI uses the column."},
        *EHCP_MEASURES,
    ],
    "national_sum": False,
    # one row per geography, period and column: the column's measure under its target (unmapped ones too)
    "key": ("time_period", "geographic_level", "region_code", "new_la_code", "target_source", "measure"),
}


def ees_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    """Suite for EES tidy files (long: one row per input row and measure)."""
    options = EES_OPTIONS.get(spec.table, {"measures": EHCP_MEASURES, "national_sum": True}
                              if spec.table.startswith("ehcp_") else {"measures": [], "national_sum": False})
    columns = (*EES_GEOGRAPHY_COLUMNS, *spec.filters, "measure", "value_raw", "value", "value_status",
               *LINEAGE_COLUMNS)
    measures = [c for c in spec.required if c not in EES_GEOGRAPHY_COLUMNS and c not in spec.filters]
    key = options.get("key", spec.key)
    rules = options["measures"]
    helpers = [period_year_helper("time_period")]
    if rules:
        helpers += [measure_kind_helper(rules), WHOLE_NUMBER_HELPER]
    placeholder = options.get("la_code_placeholder")
    la_condition = 'geographic_level=="Local authority"' + (f' and new_la_code!="{placeholder}"' if placeholder
                                                            else "")
    expectations = [
        columns_present(columns, spec.table),
        *([measures_present(measures)] if measures else []),
        not_null("time_period", "period"),
        not_null("geographic_level", "geographic level"),
        not_null("measure", "measure name"),
        not_null("new_la_code", "LA code on a Local authority row", check="la_rows_have_la_code",
                 row_condition='geographic_level=="Local authority"'),
        not_null("region_code", "region code on a Regional row", check="region_rows_have_region_code",
                 row_condition='geographic_level=="Regional"'),
        *([unique(key, options.get("key_severity", "fail"), options.get("key_reason"))] if key else []),
        value_status_known(),
        value_present_when_ok(),
        levels_known(EES_LEVELS),
        period_format("time_period", r"^\d{4}(?:\d{2})?$", "2024 or 202324"),
        period_in_range(),
        la_codes_known(row_condition=la_condition),
    ]
    if placeholder:
        expectations.append(expect(
            "expect_column_values_to_not_be_in_set", "la_code_placeholder", "warn",
            f"No LA row has the placeholder code '{placeholder}'",
            "{rows} {have} the placeholder LA code '" + placeholder + "'{where}",
            reason=options.get("la_code_reason"), column="new_la_code", value_set=[placeholder]))
    expectations += measure_value_checks(rules)
    if options.get("national_sum") and any(r["kind"] == "count" for r in rules):
        helpers.append(national_helper(["time_period", *spec.filters, "measure"]))
        expectations.append(national_equals_regions(reason=options.get("national_reason")))
    expectations.append(row_count())
    quirks = [r for r in rules if r.get("reason")]
    helper_names = [h["name"] for h in helpers]
    meta = {"helpers": helpers, "frames": {
        "geography": ["time_period", "geographic_level", "new_la_code", "region_code", "dq_period_year"],
        "values": ["measure", "value", "value_status",
                   *(c for c in ("dq_measure_kind", "dq_whole_number", "dq_national_minus_regions")
                     if c in helper_names)],
    }}
    if quirks or options.get("key_reason") or options.get("national_reason") or options.get("la_code_reason"):
        meta["quirks"] = [q for q in [*(r["reason"] for r in quirks), options.get("key_reason"),
                                      options.get("national_reason"), options.get("la_code_reason")] if q]
    return expectations, meta


LAIT_MEASURES = [
    {"kind": "non_negative", "names": ["%_2yr_olds", "%_3&4yr_olds", "PreChildDea", "SpecFixedEx"],
     "reason": "LAIT labels these as % but publishes take-up against population estimates (2-year-old "
               "take-up up to 233%) or rates per 100 pupils (SpecFixedEx up to 290); only negatives block."},
    {"kind": "percentage_may_exceed_100", "names": ["Sept_Guarantee"],
     "reason": "The September guarantee offer rate can exceed 100 (100.21 for one LA, as in the NEET file)."},
    {"kind": "other", "unit_pattern": r"^% gap", "reason": "A % gap can be negative."},
    {"kind": "percentage", "unit_pattern": r"^\s*%"},
    {"kind": "non_negative", "names": ["Premium"],
     "reason": "Premium ('Number of pupils') is a funded full-time-equivalent number, not always whole."},
    {"kind": "count", "unit_pattern": r"^Number"},
    {"kind": "non_negative", "unit_pattern": r"^Rate"},
]


def lait_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    columns = ("measure_short", "data_item", "years", "la_and_regions", "la_number", "lait_region",
               "geographic_level", "new_la_code", "region_code", "value_raw", "value", "value_status",
               *LINEAGE_COLUMNS)
    helpers = [
        period_year_helper("years"),
        measure_kind_helper(LAIT_MEASURES, column="measure_short",
                            lookup={"table": "raw.lait_data_dictionary", "key": "measure_short",
                                    "attribute": "y_axis_name",
                                    "meaning": "LAIT gives units only in its dictionary (y_axis_name); "
                                               "without it loaded, no measure has a unit kind"}),
        WHOLE_NUMBER_HELPER,
    ]
    expectations = [
        columns_present(columns, spec.table),
        measures_present(["SEN_EHC_All_20wks", "SEN_EHC_Excpt_20wks"], column="measure_short", severity="warn",
                         reason="An extract of LAIT with other indicators is still valid data."),
        not_null("measure_short", "indicator name (Short Desc)"),
        not_null("years", "period (Years)"),
        not_null("la_number", "LA number"),
        unique(spec.key),
        value_status_known(),
        value_present_when_ok(),
        levels_known(LAIT_LEVELS),
        expect("expect_column_values_to_be_between", "la_number_in_range", "fail",
               "Every LA number is a 3-digit LAIT number (201 to 990)",
               "{rows} {have} an LA number outside 201 to 990", column="la_number", min_value=201, max_value=990),
        not_null("new_la_code", "LA code on a Local authority row", "warn", check="la_rows_have_la_code",
                 row_condition='geographic_level=="Local authority"',
                 reason="The LA code comes from the LA reference; load la_lookup.csv first (it loads first "
                        "when both are in the drop-zone). Without it the rows keep their LAIT number."),
        la_codes_known(),
        period_format("years", r"^\d{4}", "2024, 2023/24, 2014-16 or 2024 (Rev)", "warn",
                      reason="CINPermExclusion publishes 170 rows with Years '0' and no values ('-'); they "
                             "have no period and are dropped in staging."),
        period_in_range(),
        *measure_value_checks(LAIT_MEASURES),
        row_count(),
    ]
    frames = {"geography": ["years", "dq_period_year", "geographic_level", "la_number", "new_la_code"],
              "values": ["measure_short", "value", "value_status", "dq_measure_kind", "dq_whole_number"]}
    return expectations, {"helpers": helpers, "frames": frames,
                          "quirks": [r["reason"] for r in LAIT_MEASURES if r.get("reason")]}


def la_reference_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    columns = ("new_la_code", "old_la_code", "la_name", "date_of_operation", "date_of_termination", "region_code",
               "region_name", "entity_code", "entity_description", "status", "is_combined", "source_row",
               "source_file", "file_sha256", "release", "loaded_at")
    reason_codes = ("Combined rows ('E06000063 / E06000064', old code '942 / 943') group two LAs for "
                    "reporting; 'z' / 702 is British Forces overseas (no region); the seven councils "
                    "abolished in April 2009 have old code 'x'.")
    expectations = [
        columns_present(columns, spec.table),
        not_null("new_la_code", "LA code"),
        unique(spec.key),
        not_null("la_name", "LA name"),
        expect("expect_column_values_to_match_regex", "la_code_format", "fail",
               "Every LA code looks like E06000001 (or two joined by ' / ', or z for overseas)",
               "{rows} {have} an LA code that does not look like E06000001", reason=reason_codes,
               column="new_la_code", regex=r"^(?:E\d{8}(?: / E\d{8})*|z)$"),
        expect("expect_column_values_to_match_regex", "old_la_code_format", "fail",
               "Every old LA code is a 3-digit number (or two joined by ' / ', or x for councils abolished in 2009)",
               "{rows} {have} an old LA code that is not a 3-digit number", reason=reason_codes,
               column="old_la_code", regex=r"^(?:\d{3}(?: / \d{3})*|x)$"),
        not_null("region_code", "region code", row_condition='new_la_code!="z"', reason=reason_codes),
        expect("expect_column_values_to_match_regex", "region_code_format", "fail",
               "Every region code looks like E12000001", "{rows} {have} a region code that does not look like "
               "E12000001", column="region_code", regex=r"^E1[23]\d{6}$"),
        not_null("date_of_operation", "date of operation", row_condition='new_la_code!="z"', reason=reason_codes),
        expect("expect_column_pair_values_a_to_be_greater_than_b", "dates_in_order", "fail",
               "No LA ends before it starts", "{rows} {have} a termination date before the date of operation",
               column_A="date_of_termination", column_B="date_of_operation", or_equal=True,
               ignore_row_if="either_value_is_missing"),
        expect("expect_column_values_to_be_in_set", "status_known", "fail", "Every status is live or terminated",
               "{rows} {have} a status other than live or terminated", column="status",
               value_set=["live", "terminated"]),
        row_count(),
    ]
    return expectations, {"helpers": [], "quirks": [reason_codes]}


def lait_la_list_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    expectations = [
        columns_present(("la_number", "la_name", "lait_region", "la_type", *LINEAGE_COLUMNS), spec.table),
        not_null("la_number", "LA number"),
        unique(spec.key),
        not_null("la_name", "LA name"),
        expect("expect_column_values_to_be_between", "la_number_in_range", "fail",
               "Every LA number is a LAIT number (201 to 1000)", "{rows} {have} an LA number outside 201 to 1000",
               reason="1000 is LAIT's 'England (discontinued)' row.", column="la_number", min_value=201,
               max_value=1000),
        row_count(),
    ]
    return expectations, {"helpers": []}


def neighbours_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    columns = ("vintage", "valid_from", "la_number", "new_la_code", "la_name", "neighbour_rank",
               "neighbour_la_number", "neighbour_new_la_code", "closeness", *LINEAGE_COLUMNS)
    expectations = [
        columns_present(columns, spec.table),
        *(not_null(c, w) for c, w in (("vintage", "vintage"), ("la_number", "LA number"),
                                      ("neighbour_rank", "neighbour rank"),
                                      ("neighbour_la_number", "neighbour's LA number"))),
        unique(spec.key),
        period_format("vintage", r"^\d{4}$", "2025"),
        period_in_range(),
        expect("expect_column_values_to_be_between", "neighbour_rank_in_range", "fail",
               "Every neighbour rank is 1 to 10", "{rows} {have} a neighbour rank outside 1 to 10",
               column="neighbour_rank", min_value=1, max_value=10),
        expect("expect_column_values_to_be_between", "la_number_in_range", "fail",
               "Every LA number is a 3-digit number", "{rows} {have} an LA number outside 201 to 999",
               column="la_number", min_value=201, max_value=999),
        expect("expect_column_values_to_be_between", "neighbour_la_number_in_range", "fail",
               "Every neighbour's LA number is a 3-digit number",
               "{rows} {have} a neighbour LA number outside 201 to 999",
               column="neighbour_la_number", min_value=201, max_value=999),
        expect("expect_column_values_to_be_in_set", "closeness_known", "fail",
               "Every closeness label is one of Extremely close, Very close, Close, Somewhat close, Not close",
               "{rows} {have} an unknown closeness label", column="closeness",
               value_set=["Extremely close", "Very close", "Close", "Somewhat close", "Not close"]),
        not_null("new_la_code", "LA code", "warn", check="la_rows_have_la_code",
                 reason="The LA code comes from the LA reference; load la_lookup.csv first."),
        la_codes_known(row_condition=None),
        la_codes_known("neighbour_new_la_code", row_condition=None, what="neighbour's LA code"),
        row_count(),
    ]
    return expectations, {"helpers": [period_year_helper("vintage")]}


def dictionary_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    reason = ("14 indicators (SusEd_All, LAC_Unauth, CIN...) are listed under two topics with the same "
              "definition; dbt keeps one row per indicator. Reported, not blocked.")
    expectations = [
        columns_present(("measure_short", "measure", "polarity", "y_axis_name", "topic", *LINEAGE_COLUMNS),
                        spec.table),
        not_null("measure_short", "indicator name (Measure_short)"),
        unique(spec.key, "warn", reason),
        expect("expect_column_values_to_be_in_set", "polarity_known", "fail",
               "Every polarity is High, Low, - or NA", "{rows} {have} an unknown polarity", column="polarity",
               value_set=["High", "Low", "-", "NA"]),
        row_count(),
    ]
    return expectations, {"helpers": [], "quirks": [reason]}


def metadata_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    expectations = [
        columns_present(("dataset", "col_name", "col_type", "label", *LINEAGE_COLUMNS), spec.table),
        not_null("col_name", "column name"),
        unique(spec.key),
        expect("expect_column_values_to_be_in_set", "col_type_known", "fail", "Every col_type is Filter or Indicator",
               "{rows} {have} a col_type other than Filter or Indicator", column="col_type",
               value_set=["Filter", "Indicator"]),
        expect("expect_column_values_to_match_regex", "indicator_dp_whole", "warn",
               "Every indicator's decimal places is a whole number", "{rows} {have} decimal places that are not "
               "a whole number", column="indicator_dp", regex=r"^\d+$"),
        row_count(),
    ]
    return expectations, {"helpers": [], "row_count": {"compare_with": "same_file_name"}}


def generic_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    """Checks every source can have from its SourceSpec alone (a source without its own definition)."""
    expectations: list[dict] = []
    if spec.key:
        expectations += [not_null(c, f"{c} (key column)") for c in spec.key]
        expectations.append(unique(spec.key))
    expectations.append(row_count(
        "warn", "A source without its own suite (such as a monthly local extract) can legitimately vary from "
                "one file to the next (school holidays, a quiet month), so a drop is reported, not blocked."))
    return expectations, {"helpers": [], "generic": True}


def sen2_suite(spec: SourceSpec) -> tuple[list[dict], dict]:
    """SEN2 requests, checked batch by batch (SEN2 person level 2023 technical specification v1.1): the
    keys, and the items the return cannot be without (item 2.1, the date the request was received)."""
    expectations = [not_null(c, f"{c} (key column)") for c in spec.key]
    expectations.append(unique(spec.key))
    expectations.append(not_null("person_key", "person_key (the request's person)"))
    expectations.append(not_null("received_date", "date the request was received (SEN2 item 2.1, mandatory)"))
    # A return is checked batch by batch, so the row count is not compared with the previous load.
    expectations.append(expect("expect_table_row_count_to_be_between", "batch_not_empty", "fail",
                               "The batch holds at least one request", "it has {observed} rows", min_value=1))
    return expectations, {"helpers": [], "generic": False}


FAMILY_BUILDERS = {
    "sen2_return": sen2_suite,
    "ees_csv": ees_suite, "ees_xlsx": ees_suite, "ehcp_main_table": ees_suite, "lait": lait_suite, "la_reference": la_reference_suite,
    "lait_la_list": lait_la_list_suite, "statistical_neighbours": neighbours_suite,
    "lait_dictionary": dictionary_suite, "ees_metadata": metadata_suite,
}


def build_suite(spec: SourceSpec) -> dict:
    """The suite of one source as GX JSON (`gx.ExpectationSuite(**suite)` loads it)."""
    builder = FAMILY_BUILDERS.get(spec.family, generic_suite)
    expectations, meta = builder(spec)
    frames = meta.pop("frames", {})
    if frames:
        assign_frames(expectations, frames)
        meta["frames"] = {
            "rows": "every row of the parsed file: uniqueness, row count and every check without a frame",
            **{name: {"columns": columns,
                      "meaning": "the distinct combinations of these columns, each with its number of rows; "
                                 "checks marked with this frame give the same verdict on it as on every row, "
                                 "and their unexpected counts are weighted back to rows. Used for files of "
                                 "20,000 rows or more (smaller files are checked row by row)."}
               for name, columns in frames.items()},
        }
    checks = [e["meta"]["check"] for e in expectations]
    duplicates = sorted({c for c in checks if checks.count(c) > 1})
    if duplicates:
        raise ValueError(f"{spec.table}: check names must be unique, repeated: {duplicates}")
    return {
        "name": spec.table,
        "expectations": expectations,
        "meta": {
            "source": spec.table,
            "title": spec.title,
            "format_version": SUITE_FORMAT_VERSION,
            "generated_by": "pipelines/quality/build_suites.py (edit the definitions there, then run it)",
            "severities": {"fail": "blocks the load: the file is quarantined and the table keeps its data",
                           "warn": "the file loads; the finding is recorded and reported"},
            "parameters": {k: v for k, v in PARAMETERS.items() if _uses_parameter(expectations, k)},
            **meta,
        },
        "notes": f"Quality gate for raw.{spec.table} ({spec.title}), checked on the parsed file before it is "
                 "loaded.",
    }


def assign_frames(expectations: list[dict], frames: dict[str, list[str]]) -> None:
    """Mark each expectation that can run on a distinct frame (`meta.frame`); see suites.DISTINCT_SAFE."""
    for expectation in expectations:
        if expectation["type"] not in DISTINCT_SAFE:
            continue
        columns = expectation_columns(expectation)
        name = next((n for n, cols in frames.items() if columns <= set(cols)), None)
        if name:
            expectation["meta"]["frame"] = name


def _uses_parameter(expectations: list[dict], name: str) -> bool:
    return any(json.dumps(e["kwargs"]).find(f'"$PARAMETER": "{name}"') >= 0 for e in expectations)


def suite_json(spec: SourceSpec) -> str:
    return json.dumps(build_suite(spec), indent=2, ensure_ascii=False) + "\n"


def write_suites(directory: Path, check_only: bool = False, tables: list[str] | None = None) -> list[str]:
    """Write (or compare) one JSON file per source; returns the tables whose file changed/is stale."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = []
    for spec in SOURCES if not tables else [SOURCES_BY_TABLE[t] for t in tables]:
        path = directory / f"{spec.table}.json"
        text = suite_json(spec)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(spec.table)
            if not check_only:
                path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ; exit 1 if any")
    parser.add_argument("--dir", type=Path, default=None, help="folder to write (default: expectations/)")
    parser.add_argument("tables", nargs="*", help="only these sources")
    args = parser.parse_args(argv)
    directory = args.dir or suites_dir()
    changed = write_suites(directory, check_only=args.check, tables=args.tables or None)
    verb = "stale" if args.check else "written"
    print(f"{len(changed)} suite(s) {verb} in {directory}: {', '.join(changed) or 'none'}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
