"""AiohttpRequest, python-telegram-bot's transport on aiohttp: errors become the library's own,
timeouts hold, uploads go as multipart, and no error message carries the token."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram_transport import AiohttpRequest
from tests.fakes.telegram_api import FakeTelegram

TOKEN_SECRET = "TEST-fake-token"


@pytest.fixture
async def slow_server() -> AsyncIterator[str]:
    """Answers after two seconds, or at once with what a multipart upload held."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": True})

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        fields = {
            name: (value.filename, value.file.read().decode())
            if isinstance(value, web.FileField)
            else value
            for name, value in form.items()
        }
        return web.json_response({"ok": True, "result": fields})

    app = web.Application()
    app.router.add_post("/slow", slow)
    app.router.add_post("/upload", upload)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_bot_calls_go_through_aiohttp(fake: FakeTelegram) -> None:
    request = AiohttpRequest(4)
    bot = Bot(fake.token, base_url=fake.base_url, request=request, get_updates_request=request)
    async with bot:
        me = await bot.get_me()
        sent = await bot.send_message(7, "<b>hi</b> &amp; bye", parse_mode="HTML")
    assert me.username == fake.username
    assert sent.chat_id == 7 and fake.sent_to(7)[0].text == "hi & bye"
    call = fake.calls_to("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML"  # sent as a JSON body, decoded by the fake


async def test_an_unreachable_server_is_a_network_error_without_the_token() -> None:
    request = AiohttpRequest(1, connect_timeout=2)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await request.post(f"http://127.0.0.1:{_closed_port()}/bot123:{TOKEN_SECRET}/getMe")
    finally:
        await request.shutdown()
    assert not isinstance(caught.value, TimedOut)
    assert TOKEN_SECRET not in str(caught.value)


async def test_a_silent_server_times_out(slow_server: str) -> None:
    request = AiohttpRequest(1, read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"{slow_server}/slow")
        # a call may ask for longer than the default, as long polling does
        assert await request.post(f"{slow_server}/slow", read_timeout=5) is True
    finally:
        await request.shutdown()


async def test_uploads_go_as_multipart(slow_server: str) -> None:
    request = AiohttpRequest(1)
    await request.initialize()
    data = RequestData(
        [
            RequestParameter.from_input("chat_id", 7),
            RequestParameter.from_input("document", InputFile(b"a,b\n1,2\n", filename="t.csv")),
        ]
    )
    try:
        status, body = await request.do_request(f"{slow_server}/upload", "POST", data)
    finally:
        await request.shutdown()
    assert status == 200
    result = json.loads(body)["result"]
    assert result["chat_id"] == "7"
    assert result["document"] == ["t.csv", "a,b\n1,2\n"]


async def test_it_can_be_opened_again_after_a_shutdown(fake: FakeTelegram) -> None:
    request = AiohttpRequest(1)
    for _ in range(2):
        await request.initialize()
        assert await request.post(f"{fake.base_url}{fake.token}/getMe")
        await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{fake.base_url}{fake.token}/getMe")
