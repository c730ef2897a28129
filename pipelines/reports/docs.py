"""The documentation site for JSNA authors: `dbt docs generate` against a warehouse.

It describes every model and column, the lineage from the raw files to the marts, and (from the
catalogue dbt reads out of the warehouse) the column types. The site is written to a folder of its
own - by default `<warehouse dir>/docs/` - with `static_index.html`, a single file that opens
offline from disk.

dbt reads the warehouse's catalogue; it is pointed at a copy, so the published warehouse is never
opened for writing and a refresh running at the same time is not disturbed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from pipelines import config
from pipelines.dbt_runner import DbtBuildError, _environment
from pipelines.errors import SendScorecardError

SITE_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")


def build_docs(target_dir: Path | None = None, warehouse: Path | None = None) -> Path:
    """Generate the dbt documentation site into `target_dir` (default `<warehouse dir>/docs`) from
    `warehouse` (default SEND_WAREHOUSE). Returns the path of static_index.html (index.html when
    the installed dbt does not write the static page)."""
    from dbt.cli.main import dbtRunner

    warehouse = Path(warehouse or config.warehouse_path()).expanduser().resolve()
    if not warehouse.exists():
        raise SendScorecardError(f"There is no warehouse at {warehouse} to document: run 'send-scorecard refresh' first.")
    target = Path(target_dir or warehouse.parent / "docs").expanduser().resolve()
    project = str(config.DBT_PROJECT_DIR)
    with tempfile.TemporaryDirectory(prefix="send-docs-") as scratch:
        copy = Path(scratch) / warehouse.name
        shutil.copyfile(warehouse, copy)
        build = Path(scratch) / "target"
        with _environment(copy):
            outcome = dbtRunner().invoke([
                "docs", "generate", "--project-dir", project, "--profiles-dir", project,
                "--target-path", str(build), "--static", "--log-format", "text", "--quiet",
            ])
        if outcome.exception is not None or not outcome.success:
            detail = " ".join(str(outcome.exception or "see dbt_project/logs/dbt.log").split())
            raise DbtBuildError(f"dbt docs generate failed: {detail}")
        target.mkdir(parents=True, exist_ok=True)
        for name in SITE_FILES:
            if (build / name).exists():
                shutil.copyfile(build / name, target / name)
    page = target / "static_index.html"
    return page if page.exists() else target / "index.html"
