"""Nothing changed = nothing rebuilt: the refresh's fingerprint and its dbt selection.

The fingerprint of a refresh is a hash of everything that decides what it publishes: the content of
every (visible) file in the drop-zone, data files and the scorecard settings file alike, the dbt project (models, seeds, macros, tests, settings), the pipeline
code and expectation suites, the SEND_* settings (hashed, so the pseudonymisation key is never
stored) and the versions of DuckDB, polars, dbt and Great Expectations. A published refresh stores its fingerprint and dbt manifest in `meta.refresh_state` of the
warehouse it publishes, so they are replaced atomically with it.

- Same fingerprint as the published warehouse (and nothing loaded since by another route): the
  refresh publishes nothing new and says so.
- Drop-zone files or the dbt project changed: dbt builds just the models that depend on the raw
  tables the ingest changed (and on meta.file_loads) plus, by state-based selection against the
  published run's manifest, the models, seeds and tests whose definition changed (`state:modified+`),
  with the tests of every node it builds.
- The pipeline code or settings changed, or there is no published state: a full dbt build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import DBT_PROJECT_DIR, PROJECT_ROOT

STATE_TABLE = "meta.refresh_state"
# Settings that change where things are, not what is published.
IGNORED_SETTINGS = {"SEND_WAREHOUSE", "SEND_RAW", "SEND_SNAPSHOTS_KEPT", "SEND_NOTIFY_WEBHOOK",
                    "SEND_NOTIFY_COMMAND", "SEND_REFRESH_DAY", "SEND_REFRESH_TIME"}
DBT_PARTS = ("models", "seeds", "macros", "tests", "dbt_project.yml", "profiles.yml", "packages.yml")
CODE_PARTS = (PROJECT_ROOT / "pipelines", PROJECT_ROOT / "expectations")
# Models that read warehouse tables outside the dbt sources (meta.file_loads: every load, refusal or
# failure is a new row) are rebuilt, with what depends on them, whenever anything was ingested.
OUTSIDE_SOURCES = "warehouse_relation("


def reads_outside_sources(node: Mapping[str, Any]) -> bool:
    """A dbt manifest node that is a model reading warehouse tables outside the dbt sources."""
    return node.get("resource_type") == "model" and OUTSIDE_SOURCES in (node.get("raw_code") or "")


def _hash_files(files: Iterable[Path], root: Path) -> dict[str, str]:
    hashes = {}
    for path in sorted(files):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
        hashes[path.relative_to(root).as_posix()] = digest.hexdigest()
    return hashes


def _tree(root: Path, parts: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        path = root / part
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                         and not any(part.startswith(".") for part in p.relative_to(path).parts))
    return files


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


# Packages whose upgrade can change what the same files and models produce.
ENGINE_PACKAGES = ("duckdb", "polars", "pyarrow", "dbt-core", "dbt-duckdb", "great-expectations", "fastexcel")


def engine_versions() -> dict[str, str | None]:
    """The installed version of each of ENGINE_PACKAGES (None when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    engines: dict[str, str | None] = {}
    for package in ENGINE_PACKAGES:
        try:
            engines[package] = version(package)
        except PackageNotFoundError:
            engines[package] = None
    return engines


def settings_digest() -> str:
    """One hash of the SEND_* settings that can change what a refresh publishes (values never stored)
    and the versions of the engines that compute it."""
    settings = {k: v for k, v in os.environ.items()
                if k.startswith("SEND_") and k not in IGNORED_SETTINGS and not k.startswith("SEND_REFRESH_PAUSE")}
    return _digest({"settings": settings, "engines": engine_versions()})


def dbt_settings() -> dict[str, str | None]:
    """The settings dbt sees: every environment variable the dbt project reads with env_var() (the
    warehouse's location aside), with its value here (hash it before storing it)."""
    names: set[str] = set()
    for path in _tree(DBT_PROJECT_DIR, DBT_PARTS):
        if path.suffix in (".sql", ".yml", ".yaml"):
            names.update(re.findall(r"env_var\(\s*['\"]([^'\"]+)['\"]", path.read_text(errors="replace")))
    return {name: os.environ.get(name) for name in sorted(names - IGNORED_SETTINGS)}


@dataclass
class Fingerprint:
    """What a refresh is made of: drop-zone file hashes and one hash each for dbt, code and settings."""

    sources: dict[str, str]
    dbt: str
    code: str
    settings: str

    @classmethod
    def of(cls, raw_dir: Path) -> Fingerprint:
        raw_dir = Path(raw_dir)
        # every visible file, not only data files: the scorecard settings file shapes the reports
        sources = _hash_files(_tree(raw_dir, ["."]), raw_dir) if raw_dir.exists() else {}
        dbt = _digest(_hash_files(_tree(DBT_PROJECT_DIR, DBT_PARTS), DBT_PROJECT_DIR))
        code = _digest(_hash_files((f for part in CODE_PARTS for f in _tree(part, ["."])), PROJECT_ROOT))
        return cls(sources=sources, dbt=dbt, code=code, settings=settings_digest())

    def changes_from(self, other: Fingerprint) -> list[str]:
        """What differs from `other`, in words (empty when nothing does)."""
        changed = [name for name in ("dbt", "code", "settings") if getattr(self, name) != getattr(other, name)]
        words = {"dbt": "the dbt project", "code": "the pipeline code or expectation suites",
                 "settings": "the SEND_* settings or engine versions"}
        out = [words[name] for name in changed]
        files = sorted(n for n in set(self.sources) | set(other.sources)
                       if self.sources.get(n) != other.sources.get(n))
        if files:
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            out.append(f"{len(files)} drop-zone file(s) ({shown})")
        return out


@dataclass
class PublishedState:
    """The fingerprint and dbt manifest stored in the published warehouse, with its load count."""

    run_id: str
    fingerprint: Fingerprint
    manifest: str | None
    file_loads: int


@dataclass
class RefreshPlan:
    """What this refresh has to do, decided before it starts."""

    fingerprint: Fingerprint
    previous: PublishedState | None
    changes: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return self.previous is not None and not self.changes

    @property
    def reason(self) -> str:
        if self.previous is None:
            return "no earlier refresh state in the published warehouse"
        if not self.changes:
            return f"nothing changed since refresh {self.previous.run_id}"
        return "changed since refresh " + self.previous.run_id + ": " + "; ".join(self.changes)

    @property
    def selective(self) -> bool:
        """dbt may build only what changed: the code and settings are the published run's and its
        manifest is at hand (a code or settings change can alter any table, so everything is rebuilt)."""
        prev = self.previous
        return (prev is not None and prev.manifest is not None and self.fingerprint.code == prev.fingerprint.code
                and self.fingerprint.settings == prev.fingerprint.settings)

    def outside_source_models(self) -> list[str]:
        """The models that read warehouse tables outside the dbt sources (OUTSIDE_SOURCES in their code), by
        the published run's manifest: a selective refresh rebuilds them and what depends on them, whatever
        it loaded (the CLI door's dbt selection and the Dagster schedule's, pipelines/defs/automation.py)."""
        if self.previous is None or self.previous.manifest is None:
            return []
        nodes = json.loads(self.previous.manifest).get("nodes", {}).values()
        return sorted(n["name"] for n in nodes if reads_outside_sources(n))

    def dbt_selection(self, changed_tables: Iterable[str]) -> str | None:
        """The dbt --select for the changed raw tables and dbt definitions (None: build everything)."""
        if not self.selective:
            return None
        outside = [f"{name}+" for name in self.outside_source_models()]
        return " ".join([*outside, *(f"source:raw.{t}+" for t in sorted(set(changed_tables))), "state:modified+"])

    @contextmanager
    def state_dir(self) -> Iterator[Path | None]:
        """A folder holding the published run's manifest.json, for dbt's --state (None without one)."""
        if self.previous is None or self.previous.manifest is None:
            yield None
            return
        folder = Path(tempfile.mkdtemp(prefix="send-dbt-state-"))
        try:
            (folder / "manifest.json").write_text(self.previous.manifest)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _file_loads(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute("select count(*) from information_schema.tables "
                         "where table_schema = 'meta' and table_name = 'file_loads'").fetchall()[0][0]
    return con.execute("select count(*) from meta.file_loads").fetchall()[0][0] if exists else 0


def read_published_state(published: Path) -> PublishedState | None:
    """The state the published warehouse was refreshed with (None when it has none or cannot be read)."""
    if not Path(published).exists():
        return None
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return None
    try:
        exists = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'meta' and table_name = 'refresh_state'").fetchall()[0][0]
        if not exists:
            return None
        row = con.execute(f"select run_id, fingerprint, manifest, file_loads from {STATE_TABLE}").fetchone()
        if row is None:
            return None
        loads = _file_loads(con)
    except duckdb.Error:
        return None
    finally:
        con.close()
    run_id, fingerprint, manifest, recorded_loads = row
    if loads != recorded_loads:  # something was loaded into it since, outside a refresh
        return None
    return PublishedState(run_id=run_id, fingerprint=Fingerprint(**json.loads(fingerprint)), manifest=manifest,
                          file_loads=recorded_loads)


def plan_refresh(raw_dir: Path, published: Path) -> RefreshPlan:
    """Compare the drop-zone, dbt project, code and settings with the published refresh's."""
    fingerprint = Fingerprint.of(raw_dir)
    previous = read_published_state(published)
    changes = fingerprint.changes_from(previous.fingerprint) if previous else []
    return RefreshPlan(fingerprint=fingerprint, previous=previous, changes=changes)


def record_state(con: duckdb.DuckDBPyConnection, plan: RefreshPlan, run_id: str,
                 manifest: Path | str | None = None) -> None:
    """Store this refresh's fingerprint (and the dbt manifest it built with: its text, or the file) in
    the build warehouse.

    Without a new manifest (dbt did not run) the published one is kept.
    """
    if isinstance(manifest, str):
        text = manifest
    else:
        text = manifest.read_text() if manifest is not None and manifest.exists() else (
            plan.previous.manifest if plan.previous else None)
    con.execute("create schema if not exists meta")
    con.execute(f"create or replace table {STATE_TABLE} (run_id varchar, fingerprint json, manifest varchar, "
                "file_loads bigint)")
    con.execute(f"insert into {STATE_TABLE} values (?, ?, ?, ?)", [
        run_id, json.dumps(plan.fingerprint.__dict__, sort_keys=True), text, _file_loads(con)])
