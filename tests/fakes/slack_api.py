"""A fake Slack Web API on 127.0.0.1 for the real slack-sdk / slack-bolt clients.

It answers the methods CrossDesk uses (``auth.test``, ``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``, ``users.info``, ``conversations.members``, ``apps.connections.open``)
the way Slack does, keeps the messages it was sent so that updates can be checked, accepts
``response_url`` posts at ``/respond/<name>``, and records every call. Calls can be scripted to
fail: a 429 with ``Retry-After``, or any Slack error code. Socket Mode is a WebSocket at
``/socket`` that says hello, pushes the envelopes queued in :attr:`FakeSlack.envelopes` and
records the app's acks as ``socket/ack`` calls. Tests wait for calls with
:meth:`FakeSlack.wait_for` (woken by each call) instead of sleeping.

The other direction, Slack calling the app, is :func:`deliver`: it signs a request the way
Slack does (``v0`` HMAC-SHA256 over ``v0:timestamp:body``) and posts it to the running app.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "xoxb-test-token"
BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0001"


@dataclass
class Call:
    """One request to the fake: the API method (or ``respond/<name>``) and its parameters."""

    method: str
    params: dict[str, Any]
    error: str | None = None  # what the fake refused it with, as Slack would


MAX_TEXT = 40_000  # Slack truncates or refuses longer message texts
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150


def refusal(params: dict[str, Any]) -> str | None:
    """The error Slack answers a message with (``None``: accepted), for the limits it enforces
    on posts, updates and ``response_url`` answers."""
    text = params.get("text")
    blocks = params.get("blocks") or []
    try:
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "invalid_arguments"  # a lone surrogate is not UTF-8
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return "msg_too_long"
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        shown = (block.get("text") or {}).get("text", "") if isinstance(block, dict) else ""
        limit = MAX_HEADER_TEXT if block.get("type") == "header" else MAX_SECTION_TEXT
        if not isinstance(shown, str) or len(shown) > limit:
            return "invalid_blocks"
    if not text and not blocks:
        return "no_text"
    return None


@dataclass
class Scripted:
    """A failure to answer the next ``times`` calls of a method with."""

    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    times: int = 1


@dataclass
class FakeSlack:
    """State of the fake Slack: people, channels, messages, scripted failures, calls."""

    url: str = ""
    base_url: str = ""  # what slack-sdk's base_url should be
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    scripted: dict[str, list[Scripted]] = field(default_factory=dict)
    envelopes: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _counter: int = 0
    _changed: asyncio.Condition | None = None

    def add_user(self, user_id: str, name: str, locale: str = "en-US") -> None:
        self.users[user_id] = {"name": name, "locale": locale}

    def fail(self, method: str, **how: Any) -> None:
        """Answer the next call(s) of ``method`` with a failure (see :class:`Scripted`)."""
        self.scripted.setdefault(method, []).append(Scripted(**how))

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def response_url(self, name: str) -> str:
        return f"{self.url}respond/{name}"

    async def wait_for(self, condition: Callable[[FakeSlack], Any], timeout: float = 10.0) -> Any:
        """Wait until ``condition(self)`` is truthy (checked after every call); return it."""
        assert self._changed is not None
        async with self._changed:
            result = condition(self)
            if result:
                return result
            await asyncio.wait_for(self._changed.wait_for(lambda: condition(self)), timeout)
            return condition(self)

    def _ts(self) -> str:
        self._counter += 1
        return f"1770000000.{self._counter:06d}"

    # --- the methods -----------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM,
                    "user": "crossdesk", "url": "https://test.slack.com/"}  # fmt: skip
        if method == "chat.postMessage":
            ts = self._ts()
            channel = str(params.get("channel"))
            self.messages[(channel, ts)] = {**params, "ts": ts}
            return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            key = (str(params.get("channel")), str(params.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key].update(text=params.get("text"), blocks=params.get("blocks"))
            return {"ok": True, "channel": key[0], "ts": key[1]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._ts()}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            profile = {"display_name": user["name"]}
            return {"ok": True, "user": {"id": params["user"], "name": user["name"],
                    "locale": user["locale"], "profile": profile}}  # fmt: skip
        if method == "conversations.members":
            channel = str(params.get("channel"))
            if channel not in self.members:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "members": self.members[channel],
                    "response_metadata": {"next_cursor": ""}}  # fmt: skip
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "socket"}
        return {"ok": False, "error": "unknown_method"}


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    body = await request.read()
    if not body:
        return params
    if request.content_type == "application/json":
        params.update(json.loads(body))
    else:
        params.update(dict(await request.post()))
    for key in ("blocks", "attachments"):  # form posts carry these as JSON text
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


@asynccontextmanager
async def running_fake_slack() -> AsyncIterator[FakeSlack]:
    """Start the fake on a free port in the running event loop; stop it afterwards."""
    state = FakeSlack(_changed=asyncio.Condition())

    async def record(call: Call) -> None:
        assert state._changed is not None
        async with state._changed:
            state.calls.append(call)
            state._changed.notify_all()

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if (
            method != "apps.connections.open"
            and request.headers.get("Authorization") != f"Bearer {TOKEN}"
        ):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        call = Call(method, params)
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            call.error = refusal(params)
        await record(call)
        if call.error is not None:
            return web.json_response({"ok": False, "error": call.error})
        script = state.scripted.get(method)
        if script:
            failure = script[0]
            failure.times -= 1
            if failure.times <= 0:
                script.pop(0)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(int(failure.retry_after))
            error = failure.error or ("ratelimited" if failure.status == 429 else "fatal_error")
            return web.json_response(
                {"ok": False, "error": error}, status=failure.status, headers=headers
            )
        return web.json_response(state.answer(method, params))

    async def respond(request: web.Request) -> web.Response:
        call = Call(f"respond/{request.match_info['name']}", await request.json())
        call.error = refusal(call.params)
        await record(call)
        if call.error is not None:
            return web.Response(status=400, text=call.error)
        return web.Response(text="ok")

    async def socket_mode(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})

        async def push() -> None:
            while True:
                await ws.send_json(await state.envelopes.get())

        pusher = asyncio.create_task(push())
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    await record(Call("socket/ack", json.loads(frame.data)))
        finally:
            pusher.cancel()
        return ws

    app = web.Application()
    app.router.add_get("/socket", socket_mode)
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/api/{method}", api)
    app.router.add_post("/respond/{name}", respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/"
    state.base_url = f"{state.url}api/"
    try:
        yield state
    finally:
        await runner.cleanup()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature`` for ``body`` sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def deliver(
    url: str,
    body: bytes,
    *,
    secret: str | None,
    content_type: str = "application/x-www-form-urlencoded",
    age: float = 0.0,
    retry_num: int | None = None,
    signature_override: str | None = None,
) -> tuple[int, str]:
    """Post ``body`` to the app as Slack would: signed with ``secret`` (None: unsigned),
    ``age`` seconds ago, optionally as a retry. Returns the HTTP status and body."""
    headers = {"Content-Type": content_type}
    if secret is not None:
        timestamp = str(int(time.time() - age))
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = signature_override or signature(secret, timestamp, body)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()
