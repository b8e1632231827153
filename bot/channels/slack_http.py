"""Serving the Bolt app over HTTP: uvicorn inside the bot's event loop, on a socket bound here.

Bolt's ASGI adapter answers ``POST /slack/events`` (commands, events and interactions alike)
behind :class:`~bot.channels.slack_guard.RequestGuard`, which refuses (401, one rate-limited
log line, no traceback) anything unsigned, wrongly signed, stale, too large or malformed before
Bolt parses a byte of it, and acknowledges replays without running them. uvicorn's own signal
handlers are left out because the runtime owns SIGINT and SIGTERM for every channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn
from slack_bolt.adapter.asgi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp

from bot.channels.slack_guard import EVENTS_PATH, MAX_BODY, RequestGuard

__all__ = ["EVENTS_PATH", "MAX_BODY", "BoltHttpServer", "SlackSetupError", "listen"]

log = logging.getLogger(__name__)


class SlackSetupError(Exception):
    """The Slack channel cannot start as configured; the message names the key and the fix."""


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket; an error naming ``slack.port`` if it cannot be had."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SlackSetupError(
            f"slack.port: cannot listen on {host}:{port} ({exc.strerror}); "
            "choose a free port with CROSSDESK_SLACK__PORT"
        ) from None
    return sock


class BoltHttpServer:
    """The Bolt app behind uvicorn, started and stopped inside the running event loop."""

    def __init__(self, bolt: AsyncApp, host: str, port: int, signing_secret: str) -> None:
        self.bolt = bolt
        self.signing_secret = signing_secret
        self.host = host
        self.port = port
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Listen and serve in the background; returns the port actually listened on."""
        sock = listen(self.host, self.port)
        bolt_app = AsyncSlackRequestHandler(self.bolt, path=EVENTS_PATH)
        # slack-bolt types its ASGI __call__'s scope narrower (a dict of str/bytes) than ASGI does
        guard = RequestGuard(bolt_app, self.signing_secret)  # type: ignore[arg-type]
        config = uvicorn.Config(
            guard,
            lifespan="off",
            log_config=None,  # the bot's logging configuration stays as it is
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="slack-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise SlackSetupError("slack: the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        """Stop accepting, finish the requests in flight (up to 5 s), close the socket."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, 10)
        except Exception:
            log.warning("slack: the HTTP server did not stop cleanly")
        self._server = self._task = None
