"""A fake Telegram Bot API server on 127.0.0.1 for the real python-telegram-bot client.

It speaks enough of the Bot API for an ``Application`` to run against it: ``getMe``,
``getUpdates`` (long polling with Telegram's offset semantics: an update is confirmed, and
forgotten, once ``getUpdates`` is called with a higher offset), ``sendMessage``,
``editMessageText``, ``answerCallbackQuery``, ``setMyCommands``, ``setWebhook``,
``deleteWebhook``, ``getWebhookInfo`` and a few more. Like Telegram it checks what it is sent:
HTML markup must parse, a text may hold 4096 characters at most, callback data 64 bytes.

Tests push updates (``message``, ``press``, ``photo``...), script failures (``fail("sendMessage",
429, retry_after=1)``, ``fail("sendMessage", 500)``), post updates to a registered webhook with
any secret header, and read what the bot did (``calls``, ``sent``). Run ``python -m
tests.fakes.telegram_api`` to serve it from its own process; ``/_fake/...`` endpoints then
inject updates and report what was sent (the throughput benchmark uses them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram_rules import (
    ApiError,
    chat_id_of,
    checked_buttons,
    checked_text,
)
from tests.fakes.telegram_updates import SentMessage, UpdateFactory

TOKEN = "123456789:TEST-fake-token"
BOT_USERNAME = "crossdesk_test_bot"
_JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "scope",
    "entities",
    "link_preview_options",
    "reply_parameters",
}


@dataclass
class ApiCall:
    """One request the bot made: the method, its decoded parameters, and the answer status."""

    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = 0.0


class FakeTelegram(UpdateFactory):
    """The fake server's state and its aiohttp application. Use ``async with FakeTelegram()``."""

    def __init__(self, token: str = TOKEN, *, username: str = BOT_USERNAME) -> None:
        super().__init__(bot_id=int(token.split(":")[0]))
        self.token = token
        self.username = username
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.webhook: dict[str, Any] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, lang) -> list
        self.port = 0
        self.scheme = "http"
        self._failures: dict[str, list[tuple[int, int | None]]] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._messages: dict[tuple[int, int], SentMessage] = {}

    # --- serving ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What ``telegram.base_url`` must be for a bot to talk to this fake."""
        return f"{self.scheme}://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/file/bot"

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_post("/_fake/updates", self._control_updates)
        app.router.add_get("/_fake/stats", self._control_stats)
        app.router.add_post("/_fake/reset", self._control_reset)
        app.router.add_get("/_fake/sent", self._control_sent)
        app.router.add_get("/_fake/calls", self._control_calls)
        return app

    async def start(
        self, port: int = 0, *, ssl_context: ssl.SSLContext | None = None
    ) -> FakeTelegram:
        """Serve on 127.0.0.1 (``port`` 0: any free one); with ``ssl_context``, over HTTPS."""
        self.scheme = "https" if ssl_context is not None else "http"
        self._runner = web.AppRunner(
            self.web_app(), access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._closing.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- scripting -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 500,
        *,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer ``times`` calls of ``method`` with HTTP ``status`` (429: retry_after), once
        ``after`` more calls have been answered normally."""
        script = self._failures.setdefault(method, [])
        script.extend([(0, None)] * after + [(status, retry_after)] * times)

    async def post_to_webhook(self, update: dict[str, Any] | bytes, secret: str | None) -> int:
        """POST ``update`` (or raw bytes) to the registered webhook with ``secret`` as the
        secret-token header (None: no header); returns the HTTP status the bot answered."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        if isinstance(update, dict):
            update = json.dumps({"update_id": next(self._update_ids), **update}).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with self._session.post(self.webhook["url"], data=update, headers=headers) as res:
            return res.status

    # --- reading ---------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    async def wait_for(
        self, condition: Callable[[], object], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until ``condition()`` holds (the bot works concurrently), or fail."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def wait_sent(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list:
        """Wait until ``chat_id`` got ``count`` messages; returns them."""
        await self.wait_for(
            lambda: len(self.sent_to(chat_id)) >= count, timeout, f"{count} message(s) to {chat_id}"
        )
        return self.sent_to(chat_id)

    # --- the API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = ApiCall(method, params, at=time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            failures = self._failures.get(method)
            if failures:
                status, retry_after = failures.pop(0)
                if status == 0:
                    pass  # answered normally this time
                elif status == 429:
                    raise ApiError(
                        429,
                        f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after or 1},
                    )
                else:
                    raise ApiError(status, f"Internal Server Error ({status})")
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as error:
            call.status = error.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            return web.json_response(body, status=error.status)
        return web.json_response({"ok": True, "result": result})

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "CrossDesk test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirm
        if not self.updates and timeout > 0:
            self._new_update.clear()
            waiter = asyncio.ensure_future(self._new_update.wait())
            closing = asyncio.ensure_future(self._closing.wait())
            await asyncio.wait({waiter, closing}, timeout=timeout, return_when="FIRST_COMPLETED")
            waiter.cancel()
            closing.cancel()
        batch = self.updates[:limit]
        for update in batch:
            self.returned[update["update_id"]] += 1
        return batch

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self.updates.clear()
        self.webhook = {}
        return True

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        self.webhook = dict(params)
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        scope = params.get("scope") or {"type": "default"}
        key = json.dumps(scope, sort_keys=True)
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[(key, str(params.get("language_code") or ""))] = commands
        return True

    def _m_deletemycommands(self, params: dict[str, Any]) -> bool:
        return True

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        self._open_callbacks.discard(query_id)
        return True

    def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    def _m_close(self, params: dict[str, Any]) -> bool:
        return True

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat_id_of(params)
        text, raw, parse_mode = checked_text(params)
        buttons = checked_buttons(params.get("reply_markup"))
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            text=text,
            raw_text=raw,
            parse_mode=parse_mode,
            buttons=buttons,
            reply_to=int(reply_to) if reply_to else None,
            disable_notification=params.get("disable_notification") in (True, "true"),
        )
        self.sent.append(message)
        self._messages[(chat_id, message.message_id)] = message
        return self._message_json(message)

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = chat_id_of(params)
        message = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, raw, parse_mode = checked_text(params)
        buttons = checked_buttons(params.get("reply_markup"))
        if text == message.text and buttons == message.buttons:
            raise ApiError(400, "Bad Request: message is not modified")
        message.text, message.raw_text, message.parse_mode = text, raw, parse_mode
        message.buttons = buttons
        message.edits += 1
        return self._message_json(message)

    # --- control endpoints (for a fake running in its own process) -------------------------

    async def _control_updates(self, request: web.Request) -> web.Response:
        for update in await request.json():
            self.push(update)
        return web.json_response({"ok": True, "pending": len(self.updates)})

    async def _control_stats(self, request: web.Request) -> web.Response:
        sends = [call.at for call in self.calls if call.method == "sendMessage"]
        ok = [call.at for call in self.calls if call.method == "sendMessage" and call.status == 200]
        return web.json_response(
            {
                "sent": len(ok),
                "send_calls": len(sends),
                "first_sent": min(ok, default=None),
                "last_sent": max(ok, default=None),
                "pending": len(self.updates),
                "get_updates": sum(1 for call in self.calls if call.method == "getUpdates"),
                "now": time.monotonic(),
            }
        )

    async def _control_sent(self, request: web.Request) -> web.Response:
        """The texts sent so far, by chat, in order (for harnesses in other processes); with
        ``?detail=1`` every message in order, with its chat, id, the message it answers and
        when it was accepted (``time.monotonic()``, the same clock in every process)."""
        if request.query.get("detail"):
            return web.json_response(
                [
                    {"chat_id": m.chat_id, "message_id": m.message_id, "text": m.text,
                     "reply_to": m.reply_to, "at": m.at}
                    for m in self.sent
                ]
            )  # fmt: skip
        by_chat: dict[str, list[str]] = {}
        for message in self.sent:
            by_chat.setdefault(str(message.chat_id), []).append(message.text)
        return web.json_response(by_chat)

    async def _control_calls(self, request: web.Request) -> web.Response:
        """Calls of one method (``?method=``; every method but getUpdates when absent): their
        answer status and parameters, in order."""
        method = request.query.get("method")
        calls = [
            {"method": call.method, "status": call.status, "params": call.params}
            for call in self.calls
            if (call.method == method if method else call.method != "getUpdates")
        ]
        return web.json_response(calls)

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.calls.clear()
        self.sent.clear()
        self._messages.clear()
        self.updates.clear()
        self.webhook = {}
        return web.json_response({"ok": True})


async def _params(request: web.Request) -> dict[str, Any]:
    """Form, multipart, JSON body or query string; JSON-typed fields decoded."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError as exc:
                raise web.HTTPBadRequest(text=f"{key} is not JSON") from exc
    return params


async def _serve(port: int) -> None:
    fake = await FakeTelegram().start(port)
    print(fake.port, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
