"""Atomic publish: a refresh builds into a copy of the warehouse and only a finished, tested copy
replaces the published file.

Readers (send-scorecard sql, exports, reports, analysts' DuckDB clients) open the published file
read-only and never see a half-built state: `os.replace` swaps the file in one step, and a reader
that already had the old file open keeps reading its snapshot. The refresh never opens the
published file for writing, so it never waits on (or blocks) a reader's lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pipelines.dbt_runner import link_folder
from pipelines.errors import SendScorecardError

SNAPSHOTS_KEPT = int(os.environ.get("SEND_SNAPSHOTS_KEPT", "5"))


def build_dir(published: Path) -> Path:
    return published.parent / "build"


def snapshot_dir(published: Path) -> Path:
    return published.parent / "snapshots"


def build_path(published: Path, run_id: str) -> Path:
    """Where run `run_id` builds its copy of the warehouse."""
    return build_dir(published) / f"{published.stem}-{run_id}{published.suffix}"


def explain_os_error(exc: OSError, action: str, path: Path) -> SendScorecardError:
    """One sentence for disk-full and permission problems (the usual causes)."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EACCES: "permission was denied",
        errno.EPERM: "permission was denied",
        errno.EROFS: "the file system is read-only",
    }
    reason = reasons.get(exc.errno, exc.strerror or str(exc))
    return SendScorecardError(
        f"Could not {action} {path}: {reason}. The published warehouse was not changed."
    )


def prepare_build(published: Path, run_id: str) -> Path:
    """Copy the published warehouse (if any) to a new build file and return its path.

    Starting from the published data lets unchanged sources be skipped by their file hash. The
    caller holds the writer lock, so any other build file is a dead run's and is removed.
    """
    target = build_path(published, run_id)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in target.parent.glob(f"{published.stem}-*"):
            if leftover != target and not leftover.name.startswith(target.name):
                leftover.unlink(missing_ok=True)  # a killed refresh's build: never published
        for links in target.parent.glob(f".{published.stem}-*.dbt"):  # and its hard link for dbt
            if links != link_folder(target):
                shutil.rmtree(links, ignore_errors=True)
        if published.exists() and not target.exists():
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(published, partial)
            os.replace(partial, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
        raise explain_os_error(exc, "prepare the build copy of the warehouse at", target) from exc
    return target


def publish(build: Path, published: Path, keep: int = SNAPSHOTS_KEPT,
            before_replace: Callable[[], None] | None = None) -> Path | None:
    """Replace the published warehouse by `build` in one atomic step; keep the old one as a snapshot.

    Returns the snapshot path (None when nothing was published before).
    """
    snapshot = None
    try:
        if published.exists():
            snapshots = snapshot_dir(published)
            snapshots.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            snapshot = snapshots / f"{published.stem}-{stamp}{published.suffix}"
            os.link(published, snapshot)  # a second name for the old file: no copy, no window
        with open(build, "rb") as handle:
            os.fsync(handle.fileno())
        if before_replace:
            before_replace()
        os.replace(build, published)
        _fsync_dir(published.parent)
    except OSError as exc:
        raise explain_os_error(exc, "publish the new warehouse to", published) from exc
    prune_snapshots(published, keep)
    return snapshot


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune_snapshots(published: Path, keep: int) -> None:
    snapshots = sorted(snapshot_dir(published).glob(f"{published.stem}-*{published.suffix}"))
    for old in snapshots[: max(len(snapshots) - keep, 0)]:
        old.unlink(missing_ok=True)


def discard_build(build: Path) -> None:
    for path in (build, build.with_name(build.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(link_folder(build), ignore_errors=True)  # a hard link left by a killed dbt run


def lock_wait_seconds() -> float:
    """How long a writer waits for another one to finish (SEND_LOCK_WAIT_SECONDS, default 10 minutes)."""
    return float(os.environ.get("SEND_LOCK_WAIT_SECONDS", "600"))


def lock_path(published: Path) -> Path:
    return published.parent / f".{published.name}.lock"


def _holder(handle) -> str:
    handle.seek(0)
    try:
        info = json.loads(handle.read() or "{}")
    except ValueError:
        info = {}
    if not info:
        return "another writer"
    return f"{info.get('holder', 'another writer')} (process {info.get('pid')}, since {info.get('since')})"


@contextlib.contextmanager
def writer_lock(published: Path, holder: str, wait: float | None = None,
                on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One writer at a time per warehouse: every refresh (whoever started it) and every ingest.

    A second writer waits up to `wait` seconds (SEND_LOCK_WAIT_SECONDS), hearing a progress line
    every 10 s through `on_wait`, then is refused with one sentence naming the holder. The lock is
    an flock: the system releases it when its process ends, however it ends, so a build file
    left behind when the lock is free belongs to a run that is provably dead.
    """
    wait = lock_wait_seconds() if wait is None else wait
    published.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(published), "a+") as handle:
        started = time.monotonic()
        next_line = started
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                waited = time.monotonic() - started
                if waited >= wait:
                    raise SendScorecardError(
                        f"Could not start {holder}: {_holder(handle)} is still writing to {published} after "
                        f"{waited:.0f} s of waiting; try again when it has finished."
                    ) from exc
                if on_wait and time.monotonic() >= next_line:
                    on_wait(f"Waiting for {_holder(handle)} to finish writing to {published} "
                            f"({waited:.0f} s of at most {wait:.0f} s) ...")
                    next_line += 10
                time.sleep(min(0.2, max(wait - waited, 0.01)))
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"holder": holder, "pid": os.getpid(),
                                     "since": dt.datetime.now().isoformat(timespec="seconds")}))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
