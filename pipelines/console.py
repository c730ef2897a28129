"""What the commands print to: `console` (progress and messages, stderr) and `out` (results, stdout),
and `friendly_errors`, which turns a SendScorecardError into one sentence and exit status 1."""

from __future__ import annotations

import functools
import sys

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
