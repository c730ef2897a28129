"""The ingest's overlap (loader._load_planned): a file's quality gate runs in a worker thread while the file
before it is written, but never before a write that could change what the gate reads (the same table, or
a reference source), and files still load, and report, one by one in their planned order."""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest

from pipelines.ingest import loader
from pipelines.ingest.load_log import LoadResult
from pipelines.ingest.rawfile import RawFile
from pipelines.ingest.sources import SOURCES_BY_TABLE
from pipelines.quality import gates

WAIT = 20  # seconds a fake gate waits for the write it should overlap (the test fails, not hangs, without it)


class Recorder:
    """Fakes of the three parts of a load, recording what happens in which order and thread."""

    def __init__(self, overlap_with: dict[str, str]):
        self.events: list[tuple[str, str, str]] = []  # (what, file, thread)
        self.lock = threading.Lock()
        self.writing: dict[str, threading.Event] = {}
        self.overlap_with = overlap_with  # file -> the file whose write its gate waits to see start
        self.seen_writing: dict[str, bool] = {}
        self.switch_intervals: set[float] = set()  # Python's GIL switch interval while files are written

    def note(self, what: str, file: str) -> None:
        with self.lock:
            self.events.append((what, file, threading.current_thread().name))

    def read(self, con, raw, spec):
        self.note("read", raw.name)
        result = LoadResult(file=raw.name, source=spec.table, status="loaded", sha256=raw.sha256)
        return loader._ReadFile(raw, spec, result, started=None, frame=pl.DataFrame({"x": [1]}))

    def gate(self, con, spec, frame, name, sha256, run_id=None):
        self.note("gate", name)
        if name in self.overlap_with:
            self.seen_writing[name] = self.writing.setdefault(self.overlap_with[name], threading.Event()).wait(WAIT)
        self.note("gate done", name)
        return SimpleNamespace(passed=True)

    def write(self, con, read, gate):
        self.switch_intervals.add(sys.getswitchinterval())
        self.writing.setdefault(read.raw.name, threading.Event()).set()
        self.note("write", read.raw.name)
        assert gate.passed
        self.note("write done", read.raw.name)
        return read.result

    def index(self, what: str, file: str) -> int:
        return next(i for i, (w, f, _) in enumerate(self.events) if (w, f) == (what, file))


@pytest.fixture
def planned_files():
    """Five files in planned order: the LA reference, then NEET, exclusions, exclusions again, timeliness."""
    files = [("la_lookup.csv", "la_reference"), ("neet_2024.csv", "neet_send"), ("exc_a.csv", "exclusions"),
             ("exc_b.csv", "exclusions"), ("timeliness_20_week.csv", "ehcp_timeliness")]
    for _, table in files:
        assert table in SOURCES_BY_TABLE, table
    return [(RawFile(name=name, data=name.encode()), SOURCES_BY_TABLE[table], None) for name, table in files]


def patch(monkeypatch, planned, recorder: Recorder) -> None:
    monkeypatch.setattr(loader, "plan_files", lambda paths, only=None: planned)
    monkeypatch.setattr(loader, "sen2_inputs", lambda paths: [])
    monkeypatch.setattr(loader, "_read_file", recorder.read)
    monkeypatch.setattr(loader, "_write_file", recorder.write)
    monkeypatch.setattr(gates, "validate_frame", recorder.gate)
    monkeypatch.setattr(gates, "warm_up", lambda: None)


def run(monkeypatch, planned, recorder: Recorder) -> list[LoadResult]:
    patch(monkeypatch, planned, recorder)
    heard = []
    results = loader.ingest_paths(duckdb.connect(), [], on_file=heard.append)
    assert heard == results
    return results


def test_gates_overlap_the_previous_files_write_only_where_it_cannot_change_what_they_read(monkeypatch, planned_files):
    # exc_a's gate waits until neet's write has started: it finishes in time only if the two overlap
    recorder = Recorder(overlap_with={"exc_a.csv": "neet_2024.csv", "timeliness_20_week.csv": "exc_b.csv"})
    before = sys.getswitchinterval()
    results = run(monkeypatch, planned_files, recorder)
    # the loading thread gets the GIL back from the gate thread sooner while files load, as before after
    assert recorder.switch_intervals == {loader.GATE_SWITCH_INTERVAL} and sys.getswitchinterval() == before
    names = [raw.name for raw, _, _ in planned_files]
    assert [r.file for r in results] == names
    # every gate ran in the worker thread, every read and write in the loading thread, in the planned order
    assert {thread for what, _, thread in recorder.events if what.startswith("gate")} == {"quality-gate_0"}
    assert all(thread == "MainThread" for what, _, thread in recorder.events if not what.startswith("gate"))
    for what in ("read", "gate", "write"):
        assert [f for w, f, _ in recorder.events if w == what] == names
    # a different table after a non-reference file: read and gated while the file before it is written
    assert recorder.seen_writing == {"exc_a.csv": True, "timeliness_20_week.csv": True}
    assert recorder.index("read", "exc_a.csv") < recorder.index("write", "neet_2024.csv")
    # after the LA reference, and after a file of the same table: read only once that write is done
    assert recorder.index("read", "neet_2024.csv") > recorder.index("write done", "la_lookup.csv")
    assert recorder.index("read", "exc_b.csv") > recorder.index("write done", "exc_a.csv")
    assert recorder.index("gate", "exc_b.csv") > recorder.index("write done", "exc_a.csv")
    # a file is written only after its own gate, and files are written one after another
    for name in names:
        assert recorder.index("write", name) > recorder.index("gate done", name)
    writes = [i for i, (w, _, _) in enumerate(recorder.events) if w in ("write", "write done")]
    assert [recorder.events[i][0] for i in writes] == ["write", "write done"] * len(names)


def test_a_failure_in_a_write_waits_for_the_gate_that_runs(monkeypatch, planned_files):
    """A write that raises (an interrupt, a broken disk) ends the run only after the gate in the worker thread
    has finished (one not started yet is cancelled), so no gate outlives its ingest or its cursor."""
    recorder = Recorder(overlap_with={"exc_a.csv": "neet_2024.csv"})
    write = recorder.write

    def failing_write(con, read, gate):
        if read.raw.name == "neet_2024.csv":
            recorder.writing.setdefault(read.raw.name, threading.Event()).set()
            recorder.note("write", read.raw.name)
            raise KeyboardInterrupt
        return write(con, read, gate)

    recorder.write = failing_write
    before = sys.getswitchinterval()
    with pytest.raises(KeyboardInterrupt):
        run(monkeypatch, planned_files, recorder)
    assert sys.getswitchinterval() == before
    # exc_a's gate, handed to the worker before neet's write, was waited for if it had started, else cancelled;
    # nothing after neet was written
    happened = [(w, f) for w, f, _ in recorder.events]
    assert (("gate", "exc_a.csv") in happened) == (("gate done", "exc_a.csv") in happened)
    assert ("read", "exc_a.csv") in happened and ("write", "exc_a.csv") not in happened
    assert not any(t.name.startswith("quality-gate") for t in threading.enumerate())


def test_a_reader_that_raises_while_reading_ahead_raises_after_the_file_before_it_loads(monkeypatch, planned_files):
    """An unexpected error in a reader (a bug, not a refused file) ends the run where reading the files one by
    one would end it: the file before it is written and reported first, nothing after it is read."""
    recorder = Recorder(overlap_with={})
    read = recorder.read

    def broken_read(con, raw, spec):
        if raw.name == "exc_a.csv":
            recorder.note("read", raw.name)
            raise ValueError("a reader's bug")
        return read(con, raw, spec)

    recorder.read = broken_read
    heard = []
    patch(monkeypatch, planned_files, recorder)
    with pytest.raises(ValueError, match="a reader's bug"):
        loader.ingest_paths(duckdb.connect(), [], on_file=heard.append)
    assert [r.file for r in heard] == ["la_lookup.csv", "neet_2024.csv"]
    happened = [(w, f) for w, f, _ in recorder.events]
    assert ("write done", "neet_2024.csv") in happened
    assert not any(f in ("exc_b.csv", "timeliness_20_week.csv") for _, f in happened)
