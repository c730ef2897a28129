"""The quality gate's cost (issue 15): Great Expectations is imported only when some file needs validating,
then in the background while the first files are read; what the gate does to spend less in GX changes no finding."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipelines.config import PROJECT_ROOT
from pipelines.ingest.loader import read_source, with_lineage
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE

LA_LOOKUP = """new_la_code,la_name,date_of_operation,date_of_termination,parent_geography_code,entity_code,entity_description,status,old_la_code
E08000007,Stockport,01/01/2009,,E12000002,E08,Metropolitan Districts,live,356
E08000003,Manchester,01/01/2009,,E12000002,E08,Metropolitan Districts,live,352
"""

# A script file rather than `python -c` (pyspark, when installed, exits a main module without __file__).
INGEST = """
import sys
from pathlib import Path
from pipelines.ingest.loader import connect_warehouse, ingest_paths
con = connect_warehouse(Path(sys.argv[1]))
statuses = [r.status for r in ingest_paths(con, [Path(sys.argv[2])])]
con.close()
print(statuses, "great_expectations" in sys.modules)
"""


def _ingest(tmp_path: Path, drop: Path) -> str:
    script = tmp_path / "ingest.py"
    script.write_text(INGEST)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "send.duckdb"), str(drop)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_great_expectations_is_imported_only_when_a_file_needs_validating(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "la_lookup.csv").write_text(LA_LOOKUP)
    assert _ingest(tmp_path, drop) == "['loaded'] True"  # validated (GX warmed up in the background)
    assert _ingest(tmp_path, drop) == "['skipped'] False"  # nothing new: no GX import at all


DEFERRED = """
import sys
from pipelines.quality import gates
gates._batch_definition()
print(sorted(n for n in ("scipy.stats._stats_py", "altair.vegalite") if n in sys.modules))
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
from scipy import stats
print(round(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]), 6), round(stats.entropy([0.5, 0.5], [0.9, 0.1]), 6),
      type(sys.modules["scipy.stats"]).__name__, kl.alt.Chart.__module__)
"""


def test_modules_great_expectations_imports_and_the_gate_never_uses_are_imported_on_first_use(tmp_path):
    """GX's import leaves scipy.stats and altair (its KL-divergence expectation's) unimported, and the first use
    of either, through GX's own reference or a later import, gets the real module."""
    script = tmp_path / "deferred.py"
    script.write_text(DEFERRED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "0.510826 0.510826 module altair.vegalite.v6.api"]


def _words(result) -> list[dict]:
    return [{k: v for k, v in vars(o).items()} for o in result.results]


def _broken_neet_2023(real_data: Path):
    """NEET 2023 with percentages of 250.5 (rows 5-40), an unknown LA code (row 50), no period (row 60)."""
    path = real_data / "dfe" / "neet-send" / "UD_NEETNK_LA_dashboard_2023_final.csv"
    spec = SOURCES_BY_TABLE["neet_send"]
    raw = RawFile(name=path.name, data=path.read_bytes())
    frame = with_lineage(read_source(raw, spec), raw, dt.datetime(2025, 6, 1, 12, 0), spec)
    return spec, path, frame.with_columns(
        pl.when(pl.col("source_row").is_between(5, 40)).then(250.5).otherwise(pl.col("value")).alias("value"),
        pl.when(pl.col("source_row") == 50).then(pl.lit("E99999999")).otherwise(pl.col("new_la_code"))
        .alias("new_la_code"),
        pl.when(pl.col("source_row") == 60).then(None).otherwise(pl.col("time_period")).alias("time_period"))


def test_configurations_built_once_per_validation_give_great_expectations_own_results(real_data, monkeypatch):
    """The gate lets GX build each expectation's configuration once per validation (gates.py,
    _memoize_configurations); every finding, count, sample and sentence is the same as with GX's own
    property, on a real file broken in blocking and warning ways (its LA codes checked against the
    full list of LA codes)."""
    from pipelines.quality import gates

    spec, path, broken = _broken_neet_2023(real_data)
    built_once = gates.validate_frame(None, spec, broken, path.name, "sha")
    monkeypatch.setattr(gates, "_configurations_built_once", contextlib.nullcontext)
    gx_own = gates.validate_frame(None, spec, broken, path.name, "sha")
    assert {r.check for r in built_once.failures} >= {"percentages_in_range", "new_la_code_in_la_reference", "time_period_not_null"}
    assert built_once.warnings
    assert _words(built_once) == _words(gx_own)


def test_row_filters_made_once_per_validation_give_great_expectations_own_results(real_data, monkeypatch):
    """The gate lets GX filter a frame by each row condition once per validation (gates.py,
    _memoize_row_filters): far fewer pandas queries, and every finding, count, failing row, sample and
    sentence the same as with GX's own filtering, on a real file broken in blocking and warning ways in
    rows the conditions select (percentages, LA rows) and rows they do not."""
    import pandas as pd

    from pipelines.quality import gates

    path = real_data / "dfe" / "neet-send" / "UD_NEETNK_LA_dashboard_2024_final.csv"
    spec = SOURCES_BY_TABLE["neet_send"]
    raw = RawFile(name=path.name, data=path.read_bytes())
    frame = with_lineage(read_source(raw, spec), raw, dt.datetime(2025, 6, 1, 12, 0), spec)
    broken = frame.with_columns(
        pl.when(pl.col("source_row").is_between(5, 40) & pl.col("measure").cast(pl.String).str.contains("percent"))
        .then(250.5).otherwise(pl.col("value")).alias("value"),
        pl.when(pl.col("source_row") == 50).then(pl.lit("E99999999"))
        .when((pl.col("source_row") == 70) & (pl.col("geographic_level") == "Local authority")).then(None)
        .otherwise(pl.col("new_la_code")).alias("new_la_code"))
    queries = []
    query = pd.DataFrame.query
    monkeypatch.setattr(pd.DataFrame, "query", lambda self, *a, **k: queries.append(a[0]) or query(self, *a, **k))
    filtered_once = gates.validate_frame(None, spec, broken, path.name, "sha")
    once = len(queries)
    monkeypatch.setattr(gates, "_row_filters_once", contextlib.nullcontext)
    gx_own = gates.validate_frame(None, spec, broken, path.name, "sha")
    assert {r.check for r in filtered_once.failures} >= {"percentages_in_range", "new_la_code_in_la_reference",
                                                         "la_rows_have_la_code"}
    assert any(r.positions for r in filtered_once.failures)
    assert _words(filtered_once) == _words(gx_own)
    # each condition once per pass (the failed expectations run again for details); GX's own: once per metric
    assert 0 < len(set(queries[:once])) <= once <= 2 * len(set(queries[:once])) < (len(queries) - once) / 2


def test_expectations_and_metric_ids_made_once_per_validation_give_great_expectations_own_results(real_data,
                                                                                                   monkeypatch):
    """The gate lets GX make each expectation for `get_metric_kwargs` once per configuration and each metric
    id once per content (gates.py, _memoize_domain_objects, _memoize_metric_ids), and leaves out GX's batch
    fingerprint (_no_fingerprints): far fewer expectation models and JSON conversions, and every finding,
    count, failing row, sample and sentence the same as with GX's own machinery, on a real file broken in
    blocking and warning ways, checked row by row and on distinct frames."""
    from great_expectations.core import id_dict
    from great_expectations.execution_engine import pandas_execution_engine
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from pipelines.quality import gates

    spec, path, broken = _broken_neet_2023(real_data)
    gates._batch_definition()  # GX patched as the gate patches it
    made, converted = [], []
    impl = ExpectationConfiguration._get_expectation_impl
    monkeypatch.setattr(ExpectationConfiguration, "_get_expectation_impl", lambda self: made.append(1) or impl(self))
    convert = id_dict.convert_to_json_serializable
    monkeypatch.setattr(id_dict, "convert_to_json_serializable", lambda data: converted.append(1) or convert(data))
    for rows_checked_by_row in (True, False):
        monkeypatch.setattr(gates, "DISTINCT_MIN_ROWS", 10**9 if rows_checked_by_row else 1000)
        made.clear(), converted.clear()
        once = gates.validate_frame(None, spec, broken, path.name, "sha")
        counts = len(made), len(converted)
        with monkeypatch.context() as own:
            own.setattr(gates, "_domain_objects_once", contextlib.nullcontext)
            own.setattr(gates, "_metric_ids_once", contextlib.nullcontext)
            own.setattr(pandas_execution_engine, "HASH_THRESHOLD", 1e9)
            made.clear(), converted.clear()
            gx_own = gates.validate_frame(None, spec, broken, path.name, "sha")
        assert {r.check for r in once.failures} >= {"percentages_in_range", "new_la_code_in_la_reference",
                                                    "time_period_not_null"}
        assert once.warnings and any(r.positions for r in once.failures)
        assert _words(once) == _words(gx_own)
        assert counts[0] < 0.8 * len(made) and counts[1] < 0.2 * len(converted)


def test_metric_ids_are_reused_only_for_equal_contents():
    """A metric id is reused only for kwargs of the same types and values (gates._plain_key): GX's own id for
    every content, also where JSON tells apart what Python finds equal (0.0 and -0.0, 1 and True)."""
    import numpy as np
    from great_expectations.core.id_dict import IDDict

    from pipelines.quality import gates

    gates._batch_definition()
    contents = [{"a": 0.0, "b": 1}, {"a": -0.0, "b": 1}, {"a": 1, "b": 1}, {"a": True, "b": 1}, {"a": 1.0, "b": 1},
                {"a": [1, 2], "b": None}, {"a": (1, 2), "b": None}, {"a": [True, 2], "b": None},
                {"a": float("nan"), "b": "x"}, {"a": {1: "x"}, "b": 1}, {"a": {"1": "x"}, "b": 1},
                {"column": "value", "row_condition": {"pass_through_filter": 'dq_measure_kind=="count"'},
                 "condition_parser": "pandas", "batch_id": "b"},
                {"value_set": ["E08000007", "E08000003"], "mostly": 1}, {"value_set": ["E08000003", "E08000007"],
                                                                         "mostly": 1},
                {"a": np.int64(3), "b": 1}, {"a": np.float64(0.5), "b": 1}]
    with gates._metric_ids_once():
        reused = [IDDict(c).to_id() for c in contents + contents]
        assert len(gates._MEMO.ids) == len(contents) - 2  # the numpy values go to GX's own
    assert reused == [IDDict(c).to_id() for c in contents + contents]  # outside the block: GX's own
    assert len(set(reused)) == len(contents) - 2  # [1, 2] and (1, 2) have the same JSON, {1: x} and {'1': x} too


def test_categorical_columns_reach_pandas_as_polars_converts_them(real_data):
    """The gate turns a categorical column into pandas through its Arrow array (suites._to_pandas), not
    polars' Series.to_pandas: the same values, nulls, categories and codes, on every column of a real file
    made categorical (and sliced, so that a column's dictionary holds values it no longer has)."""
    import pandas as pd

    from pipelines.ingest.values import text_as_categories
    from pipelines.quality.suites import _to_pandas

    _, _, broken = _broken_neet_2023(real_data)
    frame = text_as_categories(broken, set(broken.columns))
    for part in (frame, frame.slice(100, 50)):
        for column in part.iter_columns():
            ours, theirs = _to_pandas(column.rechunk()), column.rechunk().to_pandas()
            pd.testing.assert_series_equal(ours, theirs, check_exact=True, check_categorical=True)
            if isinstance(theirs.dtype, pd.CategoricalDtype):
                assert ours.cat.codes.dtype == theirs.cat.codes.dtype
                assert ours.cat.categories.dtype == theirs.cat.categories.dtype
                assert list(ours.cat.categories) == list(theirs.cat.categories)
    assert sum(c.dtype == pl.Categorical for c in frame.iter_columns()) >= 10
    assert frame.get_column("new_la_code").null_count() > 0
