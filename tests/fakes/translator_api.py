"""A fake LibreTranslate server on 127.0.0.1 for the real deep-translator client.

It answers ``POST /translate`` the way LibreTranslate does (``{"translatedText": ...}``), from a
dictionary of known translations or by tagging the text with the target language, and can be
told to fail (HTTP 500) or to hang (to test timeouts). Every call is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeTranslator:
    """State of the fake: what it knows, how it misbehaves, what it was asked."""

    dictionary: dict[tuple[str, str, str], str] = field(default_factory=dict)
    mode: str = "ok"  # ok | fail | hang
    hang_seconds: float = 2.0
    calls: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    on_call: Callable[[], None] | None = None  # run in the server's thread before answering

    def translation(self, text: str, source: str, target: str) -> str:
        return self.dictionary.get((source, target, text), f"[{target}] {text}")


def start_fake_translator() -> tuple[FakeTranslator, ThreadingHTTPServer]:
    """Start the fake on a free port; returns its state and the server (call shutdown())."""
    state = FakeTranslator()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            if body:
                query.update(parse_qs(body))
            params = {key: values[0] for key, values in query.items()}
            state.calls.append(params)
            if state.on_call is not None:
                state.on_call()
            if state.mode == "hang":
                time.sleep(state.hang_seconds)
            if state.mode == "fail":
                self.send_response(500)
                self.end_headers()
                return
            text = state.translation(params.get("q", ""), params.get("source", ""),
                                     params.get("target", ""))  # fmt: skip
            payload = json.dumps({"translatedText": text}).encode("utf-8")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    return state, server
