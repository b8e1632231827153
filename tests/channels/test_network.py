"""Choosing the Bot API's proxy the way httpx does, and naming why a connection failed."""

from __future__ import annotations

import errno
import socket

import aiohttp
import pytest
from telegram.error import NetworkError

from bot.channels.network import describe_failure, host_of, proxy_for

API = "https://api.telegram.org/bot"


@pytest.mark.parametrize(
    ("url", "configured", "environ", "expected"),
    [
        (API, None, {}, None),
        (API, None, {"HTTPS_PROXY": "http://p:1"}, ("http://p:1", "HTTPS_PROXY")),
        (
            API,
            None,
            {"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:1"},
            ("http://a:1", "https_proxy"),
        ),
        (API, None, {"ALL_PROXY": "socks5://s:1080"}, ("socks5://s:1080", "ALL_PROXY")),
        (API, None, {"HTTPS_PROXY": "p:3128"}, ("http://p:3128", "HTTPS_PROXY")),
        (API, None, {"HTTP_PROXY": "http://p:1"}, None),  # an http proxy variable: http URLs
        (
            "http://127.0.0.1:8081/bot",
            None,
            {"HTTP_PROXY": "http://p:1"},
            ("http://p:1", "HTTP_PROXY"),
        ),
        (API, "http://mine:1", {"HTTPS_PROXY": "http://p:1"}, ("http://mine:1", "telegram.proxy")),
        (API, None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".telegram.org"}, None),
        (API, None, {"HTTPS_PROXY": "http://p:1", "no_proxy": "*"}, None),
        (
            API,
            None,
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"},
            ("http://p:1", "HTTPS_PROXY"),
        ),
    ],
)
def test_proxy_for(
    url: str, configured: str | None, environ: dict[str, str], expected: tuple[str, str] | None
) -> None:
    proxy = proxy_for(url, configured, environ)
    assert (proxy.url, proxy.source) == expected if proxy else expected is None


def test_the_proxy_is_shown_without_credentials() -> None:
    proxy = proxy_for(API, None, {"HTTPS_PROXY": "http://user:pa55@proxy.corp:3128"})
    assert proxy is not None and proxy.shown == "proxy.corp:3128"


def test_host_of_names_the_port_the_scheme_implies() -> None:
    assert host_of(API) == "api.telegram.org:443"
    assert host_of("http://127.0.0.1:8081/bot") == "127.0.0.1:8081"


def wrapped(cause: BaseException) -> NetworkError:
    """An error as python-telegram-bot raises it: its NetworkError over the library's."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise NetworkError("aiohttp.ClientConnectorError") from inner
    except NetworkError as error:
        return error


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection refused"),
        (OSError(errno.ENETUNREACH, "unreachable"), "no route to the host"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "does not resolve"),
        (TimeoutError(), "timed out"),
    ],
)
def test_describe_failure_names_the_cause(cause: BaseException, words: str) -> None:
    assert words in describe_failure(wrapped(cause))


def test_describe_failure_of_a_proxy_that_answers_an_error() -> None:
    error = aiohttp.ClientHttpProxyError(None, (), status=407, message="Proxy Auth Required")
    assert describe_failure(wrapped(error)) == "the proxy answered HTTP 407"


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "expected"),
    [
        ("api.telegram.org", 443, "*", True),
        ("api.telegram.org", 443, "localhost, telegram.org", True),
        ("api.telegram.org", 443, ".telegram.org", True),
        ("api.telegram.org", 443, "api.telegram.org:443", True),
        ("api.telegram.org", 443, "api.telegram.org:8443", False),
        ("api.telegram.org", 443, "gram.org", False),
        ("127.0.0.1", 8081, "localhost,127.0.0.1", True),
        ("api.telegram.org", 443, "", False),
    ],
)
def test_no_proxy_entries(host: str, port: int, no_proxy: str, expected: bool) -> None:
    from bot.channels.network import bypassed

    assert bypassed(host, port, no_proxy) is expected
