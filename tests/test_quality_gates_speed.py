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


def _words(result) -> list[dict]:
    return [{k: v for k, v in vars(o).items()} for o in result.results]


def test_configurations_built_once_per_validation_give_great_expectations_own_results(real_data, monkeypatch):
    """The gate lets GX build each expectation's configuration once per validation (gates.py,
    _memoize_configurations); every finding, count, sample and sentence is the same as with GX's own
    property, on a real file broken in blocking and warning ways (its LA codes checked against the
    full list of LA codes)."""
    from pipelines.quality import gates

    path = real_data / "dfe" / "neet-send" / "UD_NEETNK_LA_dashboard_2023_final.csv"
    spec = SOURCES_BY_TABLE["neet_send"]
    raw = RawFile(name=path.name, data=path.read_bytes())
    frame = with_lineage(read_source(raw, spec), raw, dt.datetime(2025, 6, 1, 12, 0), spec)
    broken = frame.with_columns(
        pl.when(pl.col("source_row").is_between(5, 40)).then(250.5).otherwise(pl.col("value")).alias("value"),
        pl.when(pl.col("source_row") == 50).then(pl.lit("E99999999")).otherwise(pl.col("new_la_code"))
        .alias("new_la_code"),
        pl.when(pl.col("source_row") == 60).then(None).otherwise(pl.col("time_period")).alias("time_period"))
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
