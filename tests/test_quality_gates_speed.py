"""The quality gate's cost (issue 15): Great Expectations is imported only when some file needs validating,
then in the background while the first files are read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.config import PROJECT_ROOT

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
