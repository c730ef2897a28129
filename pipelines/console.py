"""What the commands print to: `console` (progress and messages, stderr) and `out` (results, stdout),
`friendly_errors`, which turns a SendScorecardError into one sentence and exit status 1, and `end_process`."""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading

from rich.console import Console
from rich.markup import escape

from pipelines.errors import SendScorecardError

console = Console(stderr=True)
# Piped output (cron logs, CI) gets a wide table instead of rich's 80-column default.
out = Console() if sys.stdout.isatty() else Console(width=160)


def friendly_errors(command):
    """Print a SendScorecardError as one sentence and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SendScorecardError as exc:
            console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)  # no markup in messages
            sys.exit(1)

    return wrapper


def end_process(code: int) -> None:
    """End the process once the command is done, without Python's teardown of the loaded libraries.

    A refresh leaves dbt, Great Expectations, pandas and scipy loaded (about 400k objects); the
    interpreter's last garbage collection frees them one by one, which took 1.5-3 s after every
    refresh. Nothing left needs it: what the command wrote is committed and closed. So this does what
    the interpreter's own exit does first (waits for any non-daemon thread, runs the atexit callbacks,
    which close logging and delete temporary folders, flushes the output) and then exits at once.
    """
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)
