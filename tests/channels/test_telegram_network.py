"""``crossdesk run`` behind a firewall, as a user runs it: a subprocess against the fake Bot API.

An unreachable Bot API is one line on stderr and a non-zero exit. With ``HTTPS_PROXY`` or
``ALL_PROXY`` (or ``telegram.proxy``) the Bot API calls go through the proxy: a small CONNECT
proxy here tunnels them to the fake Bot API, served over TLS with a test certificate authority
that the subprocess trusts through ``SSL_CERT_FILE``. The bot's ``base_url`` names a closed
port, so a call that bypassed the proxy would fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.bot.test_cli import PROXY_VARIABLES
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.knowledge.small_kb import write_small_kb

START_TIMEOUT = 120.0  # seconds for the subprocess to load its knowledge and poll (2 busy cores)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_environment(tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    """The environment of ``crossdesk run``: none of the caller's CrossDesk or proxy settings,
    a token, the Bot API at ``base_url``, a staff group, the small KB in two languages."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CROSSDESK_") and k.lower() not in PROXY_VARIABLES
    }
    environment.update(
        CROSSDESK_TELEGRAM__TOKEN=TOKEN,
        CROSSDESK_TELEGRAM__BASE_URL=base_url,
        CROSSDESK_TELEGRAM__BASE_FILE_URL=base_url.replace("/bot", "/file/bot"),
        CROSSDESK_TELEGRAM__STAFF_CHAT_ID="-1001234567890",
        CROSSDESK_TELEGRAM__RATE_LIMIT="false",
        CROSSDESK_ALERTS__ENABLED="false",
        CROSSDESK_SUPPORT__KNOWLEDGE_BASE=str(write_small_kb(tmp_path / "kb")),
        CROSSDESK_SUPPORT__LANGUAGES='["en", "de"]',
        CROSSDESK_SUPPORT__STAFF_LANGUAGE="en",
    )
    environment.update(extra)
    return environment


def test_unreachable_bot_api_is_one_line_and_a_failed_exit(tmp_path: Path) -> None:
    port = closed_port()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        cwd=tmp_path,
        env=bot_environment(tmp_path, f"http://127.0.0.1:{port}/bot"),
        timeout=START_TIMEOUT,
        check=False,
    )
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert f"127.0.0.1:{port}" in err and "connection refused" in err and "telegram.proxy" in err
    assert TOKEN not in err
    assert "staff translation is off" in result.stdout.decode()  # the start line, on stdout


class CountingProxy:
    """An HTTP proxy on 127.0.0.1 that tunnels every CONNECT to one upstream port, and counts
    the CONNECTs (and any plain request, which it refuses: the Bot API is HTTPS)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connects: list[str] = []
        self.plain: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tunnels: set[asyncio.Task[None]] = set()

    async def start(self) -> CountingProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        for task in self._tunnels:
            task.cancel()
        await asyncio.gather(*self._tunnels, return_exceptions=True)
        if self._server is not None:
            self._server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tunnels.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                self.plain.append(f"{method} {target}")
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self.connects.append(target)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self._tunnels.discard(task)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    finally:
        sink.close()


@pytest.fixture
async def tls_fake(tmp_path: Path) -> AsyncIterator[tuple[FakeTelegram, Path]]:
    """The fake Bot API over HTTPS, and the CA file that makes its certificate trusted."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    fake = FakeTelegram()
    await fake.start(ssl_context=server_context)
    try:
        yield fake, ca_file
    finally:
        await fake.close()


@pytest.mark.parametrize(
    ("transport", "variables", "verbose"),
    [
        ("aiohttp", {"HTTPS_PROXY": "{proxy}"}, False),
        ("aiohttp", {"ALL_PROXY": "{proxy}"}, False),
        ("aiohttp", {"HTTPS_PROXY": "{wrong}", "CROSSDESK_TELEGRAM__PROXY": "{proxy}"}, False),
        ("httpx", {"https_proxy": "{proxy}"}, True),
    ],
    ids=["https_proxy", "all_proxy", "telegram.proxy-wins", "httpx-verbose"],
)
async def test_bot_api_calls_go_through_the_proxy(
    tmp_path: Path,
    tls_fake: tuple[FakeTelegram, Path],
    transport: str,
    variables: dict[str, str],
    verbose: bool,
) -> None:
    fake, ca_file = tls_fake
    proxy = await CountingProxy(fake.port).start()
    bypass_port = closed_port()  # what base_url names: reachable only through the proxy
    filled = {
        name: value.format(
            proxy=f"http://127.0.0.1:{proxy.port}", wrong=f"http://127.0.0.1:{closed_port()}"
        )
        for name, value in variables.items()
    }
    environment = bot_environment(
        tmp_path,
        f"https://127.0.0.1:{bypass_port}/bot",
        SSL_CERT_FILE=str(ca_file),
        CROSSDESK_TELEGRAM__TRANSPORT=transport,
        **filled,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *(["-v"] if verbose else []),
        "run",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        polling = asyncio.create_task(
            fake.wait_for(lambda: fake.calls_to("getUpdates"), START_TIMEOUT, "the bot to poll")
        )
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({polling, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not polling.done():
            polling.cancel()
            _, err = await process.communicate()
            pytest.fail(f"crossdesk run exited with {process.returncode}: {err.decode()}")
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        await proxy.close()
    assert process.returncode == 0, err.decode()
    assert fake.calls_to("getMe") and fake.calls_to("getUpdates")
    assert proxy.connects and set(proxy.connects) == {f"127.0.0.1:{bypass_port}"}
    assert not proxy.plain
    log = err.decode()
    assert "Traceback" not in log and TOKEN not in log
    if verbose:  # -v: the libraries' INFO lines, httpx's request URLs without the token
        assert "INFO telegram.ext.Application: Application started" in log
        assert "INFO httpx: HTTP Request: POST https://127.0.0.1" in log and "[secret]" in log
    else:  # by default only CrossDesk's own INFO lines, the libraries' warnings
        assert "INFO bot.runtime: telegram channel started" in log
        assert " INFO telegram" not in log and " INFO httpx" not in log
