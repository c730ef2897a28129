"""Refresh notifications: a webhook received by a local HTTP server, and a command fed the text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from pipelines.notify import notify


def test_webhook_and_command_receive_the_summary(tmp_path, monkeypatch):
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    out = tmp_path / "mail.txt"
    monkeypatch.setenv("SEND_NOTIFY_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    monkeypatch.setenv("SEND_NOTIFY_COMMAND", f"cat > {out}")
    done = notify({"run_id": "r1", "status": "published"}, "Refresh r1 published.")
    thread.join(timeout=10)
    server.server_close()
    assert done == ["webhook 204", "command"]
    assert received == [{"text": "Refresh r1 published.", "summary": {"run_id": "r1", "status": "published"}}]
    assert out.read_text() == "Refresh r1 published."


def test_unreachable_webhook_is_only_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("SEND_NOTIFY_WEBHOOK", "http://127.0.0.1:9/nothing-listens-here")
    monkeypatch.delenv("SEND_NOTIFY_COMMAND", raising=False)
    assert notify({"run_id": "r2"}, "text") == []
    assert "Could not send" in caplog.text
