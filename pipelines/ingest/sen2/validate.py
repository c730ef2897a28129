"""The checks a council runs before submitting its SEN2 return, on the pseudonymised rows of one batch.

Each rule says where it comes from (section 4 "Validation checks" of the SEN2 person level 2023
technical specification v1.1, and the module items of section 2 it checks). Every rule looks at one
person at a time, so a batch of whole persons can be checked on its own and the counts added up.
The offending records are listed by pseudonymous key only (request_key / person_key), for the
restricted store; the data-quality report shows the counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.ingest.sen2 import spec


@dataclass(frozen=True)
class Rule:
    rule: str
    description: str
    spec_section: str
    table: str  # which frame the rule reads


RULES = (
    Rule("request_dates_in_order", "The request is received on or before its outcome, the assessment outcome "
         "and the plan start (request received <= assessment outcome <= plan start)",
         "4 (checks on items 2.1, 2.3, 3.2, 4.1)", "sen2_requests"),
    Rule("plan_has_assessment", "A named plan sits under an assessment whose decision was to issue a plan (Y or "
         "S) with an outcome date", "4 (checks on items 3.1, 3.2, 4.1); 2.4 Module 4", "sen2_requests"),
    Rule("ceased_plan_has_reason", "A ceased plan has a reason (1-9), and a reason is only given with a cease date",
         "4 (checks on items 4.5, 4.6); 2.4.1 Ceased plans", "sen2_requests"),
    Rule("one_active_plan_per_person", "A person has at most one plan active at the reference date",
         "4 (person-level checks); 1.3.1 Active plans", "sen2_requests"),
    Rule("placement_ranks_unique", "Placement ranks are unique within a plan's placements",
         "4 (checks on items 4.7e, 5.7e)", "sen2_placements"),
    Rule("week20_only_on_issued_plans", "A 20-week exception (Week20) is only recorded where a plan was issued",
         "4 (checks on item 3.7); 2.3 Module 3", "sen2_requests"),
    Rule("upn_check_letter", "A UPN has 13 characters and the right check letter", "4 (checks on item 1.7)",
         "sen2_persons"),
    Rule("uln_check_digit", "A ULN has 10 digits and the right check digit", "4 (checks on item 1.8)",
         "sen2_persons"),
    Rule("codes_in_lists", "Request outcome, assessment outcome, cease reason, SEN setting and SEN type use the "
         "specification's code lists", "2.2-2.5 code lists; 4 (code checks)", "sen2_requests"),
)
RULES_BY_NAME = {rule.rule: rule for rule in RULES}
ISSUE_SCHEMA = {"rule": pl.String, "person_key": pl.String, "request_key": pl.String, "source_row": pl.Int64}


def _issues(frame: pl.DataFrame, rule: str, mask: pl.Expr) -> pl.DataFrame:
    columns = [c for c in ("person_key", "request_key", "source_row") if c in frame.columns]
    found = frame.filter(mask.fill_null(False)).select(columns)
    return found.with_columns(
        pl.lit(rule).alias("rule"),
        *[pl.lit(None, dtype).alias(c) for c, dtype in ISSUE_SCHEMA.items() if c not in (*found.columns, "rule")],
    ).select(list(ISSUE_SCHEMA)).cast(ISSUE_SCHEMA)


def validate_batch(frames: dict[str, pl.DataFrame], reference_date: dt.date) -> pl.DataFrame:
    """The batch's offending records: one row per (rule, record), keys only."""
    requests, persons, placements = frames["sen2_requests"], frames["sen2_persons"], frames["sen2_placements"]
    received, req_out, ass_out = pl.col("received_date"), pl.col("request_outcome_date"), pl.col(
        "assessment_outcome_date")
    start, cease = pl.col("plan_start_date"), pl.col("plan_cease_date")
    plan_issued = pl.col("assessment_outcome").is_in(sorted(spec.PLAN_OUTCOMES))
    reference = pl.lit(reference_date, pl.Date)
    active = pl.col("has_named_plan") & (start <= reference) & (cease.is_null() | (cease > reference))
    found = [
        _issues(requests, "request_dates_in_order",
                (req_out < received) | (ass_out < received) | (start < ass_out) | (start < received)),
        _issues(requests, "plan_has_assessment",
                pl.col("has_named_plan") & (~pl.col("has_assessment") | ~plan_issued | ass_out.is_null())),
        _issues(requests, "ceased_plan_has_reason",
                (cease.is_not_null() & ~pl.col("plan_cease_reason").is_in(list(spec.CEASE_REASONS)).fill_null(False))
                | (cease.is_null() & pl.col("plan_cease_reason").is_not_null())),
        _issues(requests, "one_active_plan_per_person",
                active & (active.cast(pl.Int32).sum().over("person_key") > 1)),
        _issues(placements, "placement_ranks_unique",
                pl.col("placement_rank").is_not_null()
                & pl.struct("request_key", "record", "placement_rank").is_duplicated()),
        _issues(requests, "week20_only_on_issued_plans",
                (pl.col("week20") == True) & ~(plan_issued & pl.col("has_named_plan")).fill_null(False)),  # noqa: E712
        _issues(persons, "upn_check_letter", pl.col("upn_check_ok") == False),  # noqa: E712
        _issues(persons, "uln_check_digit", pl.col("uln_check_ok") == False),  # noqa: E712
        _issues(requests, "codes_in_lists",
                (pl.col("request_outcome").is_not_null()
                 & ~pl.col("request_outcome").is_in(list(spec.REQUEST_OUTCOMES)))
                | (pl.col("assessment_outcome").is_not_null()
                   & ~pl.col("assessment_outcome").is_in(list(spec.ASSESSMENT_OUTCOMES)))),
        _issues(placements, "codes_in_lists",
                pl.col("sen_setting").is_not_null() & ~pl.col("sen_setting").is_in(list(spec.SEN_SETTINGS))),
        _issues(frames["sen2_needs"], "codes_in_lists",
                pl.col("sen_type").is_not_null() & ~pl.col("sen_type").is_in(list(spec.SEN_TYPES))),
    ]
    return pl.concat(found, how="vertical")


def summarise(issues: pl.DataFrame) -> pl.DataFrame:
    """One row per rule (every rule, 0 where nothing broke it): rule, description, spec section, records."""
    counts = dict(issues.group_by("rule").len().iter_rows()) if issues.height else {}
    return pl.DataFrame({
        "rule": [r.rule for r in RULES],
        "description": [r.description for r in RULES],
        "spec_section": [r.spec_section for r in RULES],
        "records": [int(counts.get(r.rule, 0)) for r in RULES],
    }, schema={"rule": pl.String, "description": pl.String, "spec_section": pl.String, "records": pl.Int64})
