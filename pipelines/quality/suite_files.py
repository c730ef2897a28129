"""Where the reviewed suites live and which columns an expectation reads: shared by the suite
builder (build_suites) and the suite loader (suites), which import this and not each other."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipelines.config import PROJECT_ROOT


def suites_dir() -> Path:
    """The folder of the reviewed suites (SEND_EXPECTATIONS, default <project>/expectations)."""
    env = os.environ.get("SEND_EXPECTATIONS")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "expectations"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_CONDITION_WORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None"})

# Expectations whose result depends only on the set of distinct combinations of the columns they read,
# so they can be validated on a de-duplicated frame (with each combination's row count as weight).
DISTINCT_SAFE = frozenset({
    "expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between", "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list", "expect_column_values_to_match_like_pattern",
    "expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal",
    "expect_column_values_to_match_strftime_format", "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal", "expect_column_pair_values_to_be_in_set",
    "expect_column_distinct_values_to_be_in_set", "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
})


def condition_text(kwargs: dict) -> str:
    condition = kwargs.get("row_condition") or ""
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter", "")
    return str(condition)


def expectation_columns(expectation: dict) -> set[str]:
    """Every column an expectation reads: its column arguments and the names in its row condition."""
    kwargs = expectation["kwargs"]
    used = {kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)}
    used.update(kwargs.get("column_list") or ())
    condition = _QUOTED.sub(" ", condition_text(kwargs))
    used.update(name for name in _IDENTIFIER.findall(condition) if name not in _CONDITION_WORDS)
    return used
