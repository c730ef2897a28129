"""The refresh session's own settings: what it changes in the process lasts exactly as long as the run."""

from __future__ import annotations

import contextlib
import gc

import pytest

from pipelines.refresh import REFRESH_GC_THRESHOLD, refresh_session


@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_runs_less_often_during_a_run_and_as_before_after_it(tmp_path, fails):
    raw = tmp_path / "raw"
    raw.mkdir()
    original = gc.get_threshold()
    gc.set_threshold(1000, 5, 5)  # the process's own setting, whatever it is, comes back after the run
    try:
        with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
            with refresh_session(raw, tmp_path / "published" / "send.duckdb", started_by="cli"):
                assert gc.get_threshold() == REFRESH_GC_THRESHOLD != (1000, 5, 5)
                if fails:
                    raise RuntimeError("a stage failed")
        assert gc.get_threshold() == (1000, 5, 5)
    finally:
        gc.set_threshold(*original)


def test_the_ingest_commits_to_the_build_copy_without_an_fsync_each_and_publish_makes_it_durable(tmp_path, monkeypatch):
    """The ingest stage loads into the build copy with fsync_mode 'none' (publish fsyncs the whole file before
    it replaces the published one); what it committed is in the file, and other connections keep the default."""
    from pipelines import publish as publishing
    from pipelines import refresh
    from pipelines.ingest.loader import connect_warehouse

    seen = []

    def loads(con, paths):
        seen.append(con.execute("select current_setting('fsync_mode')").fetchone()[0])
        con.execute("create schema if not exists raw")
        con.execute("create table raw.loaded as select 42 as answer")
        return []

    monkeypatch.setattr(refresh, "ingest_paths", loads)
    synced = []
    fsync = publishing.os.fsync
    monkeypatch.setattr(publishing.os, "fsync", lambda fd: (synced.append(fd), fsync(fd)))
    raw, published = tmp_path / "raw", tmp_path / "published" / "send.duckdb"
    raw.mkdir()
    with refresh_session(raw, published, started_by="cli") as run:
        run.ingest()
        build = run.build
        publishing.publish(build, published)
    assert [s.lower() for s in seen] == ["none"]
    assert len(synced) >= 2  # the build file, then its folder, before and after the replace
    con = connect_warehouse(published, read_only=True)
    try:
        assert con.execute("select answer from raw.loaded").fetchall() == [(42,)]
        assert con.execute("select current_setting('fsync_mode')").fetchone()[0].lower() == "standard"
    finally:
        con.close()
