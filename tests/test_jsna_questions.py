"""docs/jsna-questions.md: every documented `send-scorecard sql` query runs on the real warehouse and
answers with rows (the page says its outputs are real; benchmarks/jsna_queries.py times the same queries)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipelines.query import run_query

ROOT = Path(__file__).resolve().parents[1]


def _jsna_queries():
    spec = importlib.util.spec_from_file_location("jsna_queries", ROOT / "benchmarks" / "jsna_queries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


QUERIES = _jsna_queries().documented_queries()


def test_the_page_documents_every_question():
    sections = {label.split(".")[0] for label, _ in QUERIES}
    assert sections == {"1", "2", "3", "4", "5"}, [label for label, _ in QUERIES]


@pytest.mark.parametrize("label,query", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_documented_query_answers_on_the_real_warehouse(real_built, label, query):
    warehouse, _ = real_built
    frame = run_query(warehouse, query)
    assert frame.height > 0, f"{label}: no rows"
    assert not frame.is_empty() and frame.width > 0
