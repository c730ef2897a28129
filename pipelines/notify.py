"""Tell people how a refresh went: a webhook (JSON POST) and/or a command fed the summary.

SEND_NOTIFY_WEBHOOK: a URL that receives the run summary as JSON (e.g. a Teams/Slack relay).
SEND_NOTIFY_COMMAND: a shell command that receives the summary text on standard input, e.g.
`mail -s "SEND scorecard refresh" bi-team@example.org`. A notification that cannot be sent is
logged as a warning; it never changes the outcome of the refresh.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.request

log = logging.getLogger(__name__)


def notify(summary: dict, text: str) -> list[str]:
    """Send `summary` (as JSON) to the webhook and `text` to the command; returns what was done."""
    done = []
    webhook = os.environ.get("SEND_NOTIFY_WEBHOOK")
    if webhook:
        request = urllib.request.Request(
            webhook, data=json.dumps({"text": text, "summary": summary}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                done.append(f"webhook {response.status}")
        except OSError as exc:
            log.warning("Could not send the refresh summary to SEND_NOTIFY_WEBHOOK (%s): %s", webhook, exc)
    command = os.environ.get("SEND_NOTIFY_COMMAND")
    if command:
        try:
            result = subprocess.run(command, shell=True, input=text, text=True, capture_output=True, timeout=60)
            if result.returncode:
                log.warning("SEND_NOTIFY_COMMAND exited with %s: %s", result.returncode, result.stderr.strip())
            else:
                done.append("command")
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("Could not run SEND_NOTIFY_COMMAND: %s", exc)
    return done
