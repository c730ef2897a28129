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
