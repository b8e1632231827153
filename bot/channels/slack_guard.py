"""Slack's HTTP requests, checked before anything reads them: size, form, age and signature.

Bolt verifies signatures too, but only once it has parsed the request: an empty or non-numeric
``X-Slack-Request-Timestamp`` raised inside its check (a 500 and a traceback per request), a
body that was not JSON raised while it was parsed, and every unsigned request was parsed before
it was refused. :class:`RequestGuard` is the ASGI app in front of Bolt that does nothing but
refuse until a request is authentic: it checks the headers, reads at most ``MAX_BODY`` bytes,
verifies the signature (``slack_sdk``'s ``SignatureVerifier``) and only then looks inside the
body. Whatever fails is answered 401 with one WARNING line naming the reason, never the body,
and rate-limited (``bot/log_safety.py``): a flood of forgeries costs a line a minute.

A signed request seen again within its five minutes (same timestamp and signature: a replay,
since Slack signs each delivery afresh) is answered 200 and not run again.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import Clock, SignatureVerifier

from bot.log_safety import RepeatFilter

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"  # Bolt's default path
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kilobytes
REPLAY_WINDOW_SECONDS = 5 * 60  # Slack's own: an older timestamp is refused as stale
REPLAY_MEMORY = 100_000  # signed requests remembered; far more than Slack sends in 5 minutes
CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")
_TIMESTAMP = re.compile("[0-9]{1,12}")
_SIGNATURE = re.compile("v0=[0-9a-f]{64}")
_CHECKED_HEADERS = (b"content-length", b"content-type", b"x-slack-request-timestamp",
                    b"x-slack-signature")  # fmt: skip

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Refused(Exception):
    """The request is not one Slack sent; ``reason`` says why (for the log, no content)."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _Gone(Exception):
    """The client hung up while sending: there is nobody to answer."""


class ReplayMemory:
    """The signed requests of the last five minutes, by timestamp and signature.

    In-process, and a first line only: what a replay could make run twice on another replica
    (a message, a command, a button press) is stored in the shared inbox under its platform
    key (event ts, trigger id, action ts) and handled once there.
    """

    def __init__(self, window: float = REPLAY_WINDOW_SECONDS, memory: int = REPLAY_MEMORY) -> None:
        self.window = window
        self.memory = memory
        self._until: OrderedDict[str, float] = OrderedDict()

    def first_time(self, timestamp: int, signature: str, now: float) -> bool:
        """True the first time this request is seen (and remember it until it goes stale)."""
        key = f"{timestamp}:{signature}"
        while self._until and next(iter(self._until.values())) < now:
            self._until.popitem(last=False)  # roughly in time order: stale ones are in front
        if key in self._until:
            return False
        self._until[key] = timestamp + self.window
        while len(self._until) > self.memory:
            self._until.popitem(last=False)
        return True


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class RequestGuard:
    """ASGI wrapper that hands Bolt only authentic, fresh, well-formed, first-time requests.

    Args:
        app: Bolt's ASGI handler.
        signing_secret: the Slack app's signing secret.
        path: the one path Slack posts to; anything else is 404 without reading it.
        limit: the largest body read, in bytes.
        clock: seconds since the epoch (injectable for tests).
    """

    def __init__(
        self,
        app: AsgiApp,
        signing_secret: str,
        *,
        path: str = EVENTS_PATH,
        limit: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
        replays: ReplayMemory | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self._clock = clock
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self.replays = replays or ReplayMemory()
        self._refusals = RepeatFilter()  # refusals are cheap to cause: a line a minute a reason

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._authentic_body(scope, receive)
        except _Gone:
            return
        except Refused as refused:
            held_back = self._refusals.admit(refused.reason)
            if held_back is not None:
                more = f" ({held_back} more in the last minute)" if held_back else ""
                log.warning(
                    "slack: request refused before authentication: %s%s", refused.reason, more
                )
            await _answer(send, refused.status, b'{"error": "invalid request"}')
            return
        if body is None:
            log.info("slack: a request delivered again (same timestamp and signature); not run")
            await _answer(send, 200, b"")
            return
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()  # Bolt waiting for a disconnect, say
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay_body, send)

    async def _authentic_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The body of a request Slack signed; None for a replay. Raises :class:`Refused`."""
        if scope.get("method") != "POST" or scope.get("path") != self.path:
            raise Refused("not the events endpoint", status=404)
        headers = _headers(scope)
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            raise Refused("body too large or its length malformed")
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type.decode("latin-1") not in CONTENT_TYPES:
            raise Refused("unexpected content type")
        if b"x-slack-request-timestamp" not in headers and b"x-slack-signature" not in headers:
            raise Refused("unsigned")
        timestamp = headers.get(b"x-slack-request-timestamp", b"").decode("latin-1")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise Refused("timestamp missing or malformed")
        now = self._clock()
        if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
            raise Refused("stale timestamp")
        signature = headers.get(b"x-slack-signature", b"").decode("latin-1")
        if not _SIGNATURE.fullmatch(signature):
            raise Refused("signature missing or malformed")
        body = await self._read(receive)
        try:  # the verifier decodes the body as UTF-8 and would raise
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("body is not UTF-8") from None
        if not self._verifier.is_valid(body, timestamp, signature):
            raise Refused("wrong signature")
        _check_form(body, content_type.decode("latin-1"))
        if not self.replays.first_time(int(timestamp), signature, now):
            return None
        return body

    async def _read(self, receive: Receive) -> bytes:
        """The whole body, refused as soon as it grows past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise Refused("body too large or its length malformed")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers; one that decides authenticity may be sent once only."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or []:
        name = bytes(name).lower()
        if name in headers and name in _CHECKED_HEADERS:
            raise Refused("duplicated header")
        headers.setdefault(name, bytes(value))
    return headers


def _check_form(body: bytes, content_type: str) -> None:
    """Refuse a signed body Bolt could not parse (it would raise): the way Bolt parses it."""
    text = body.decode("utf-8")  # checked before the signature
    if not text:
        raise Refused("empty body")
    if content_type == "application/json" or text.startswith("{"):
        _json_object(text)
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _json_object(payload)


def _json_object(text: str) -> None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested beyond the stack
        raise Refused("malformed body") from None
    if not isinstance(value, dict) or not _well_shaped(value):
        raise Refused("malformed body")


def _well_shaped(value: dict[str, Any]) -> bool:
    """Whether the parts Bolt's listeners and middleware read have the types Slack gives
    them (a signed body with ``"event": "x"`` once made Bolt's middleware raise)."""
    if not isinstance(value.get("type", ""), str):
        return False
    event = value.get("event", {})
    if not isinstance(event, dict) or not isinstance(event.get("type", ""), str):
        return False
    if value.get("type") == "block_actions":
        parts = ("user", "team", "channel", "container", "message")
        if any(not isinstance(value.get(part) or {}, dict) for part in parts):
            return False
        actions = value.get("actions", [])
        return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    return True


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json")] if body else []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
