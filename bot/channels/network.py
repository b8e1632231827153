"""Reaching a platform's API from behind a firewall: which proxy, and why a connection failed.

python-telegram-bot's default transport (httpx) takes a proxy from the environment: for an
``https://`` URL ``HTTPS_PROXY``, else ``ALL_PROXY`` (lower-case names too), unless the host is
in ``NO_PROXY``. aiohttp, CrossDesk's faster transport, reads only ``HTTP(S)_PROXY`` and only
when asked, so :func:`proxy_for` makes the choice once, the httpx way, for either transport;
a configured proxy (``telegram.proxy``) wins over the environment.

When the API cannot be reached at start, :func:`describe_failure` turns the exception chain
into a few words for the one line the operator reads ("connection refused", "the name does
not resolve"), never the URL, which holds the bot token.
"""

from __future__ import annotations

import errno
import os
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class Unreachable(Exception):
    """A platform's API could not be reached at start; the message is one line for the user."""


@dataclass(frozen=True)
class Proxy:
    """The proxy to use and where the choice came from (a setting or a variable's name)."""

    url: str
    source: str

    @property
    def shown(self) -> str:
        """host:port of the proxy, without any user name or password."""
        parts = urlsplit(self.url)
        host = parts.hostname or self.url
        return f"{host}:{parts.port}" if parts.port else host


def _variable(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(value, the variable's name as set) of ``name`` in lower or upper case, lower first."""
    for spelled in (name.lower(), name.upper()):
        value = environ.get(spelled, "").strip()
        if value:
            return value, spelled
    return None


def proxy_for(
    url: str, configured: str | None, environ: Mapping[str, str] | None = None
) -> Proxy | None:
    """The proxy for requests to ``url``: ``configured``, else the environment's, else None."""
    if configured:
        return Proxy(configured, "telegram.proxy")
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    no_proxy = _variable(environ, "no_proxy")
    if parts.hostname and no_proxy and bypassed(parts.hostname, parts.port, no_proxy[0]):
        return None
    for name in (f"{parts.scheme}_proxy", "all_proxy"):
        found = _variable(environ, name)
        if found:
            value, spelled = found
            return Proxy(value if "://" in value else f"http://{value}", spelled)
    return None


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``: ``*``, the host itself, or a domain it is in
    (``example.com`` and ``.example.com`` both cover ``api.example.com``); an entry with a
    port covers that port only."""
    host = host.lower().rstrip(".")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and (port is None or entry_port != str(port)):
            continue
        name = name.lstrip(".").rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def host_of(url: str) -> str:
    """host:port of ``url`` (the port its scheme implies when none is written)."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme, 0)
    return f"{parts.hostname}:{port}"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe_failure(error: BaseException) -> str:
    """A few words on why a connection failed: the first exception in the chain that tells
    (python-telegram-bot's error wraps the HTTP library's, which wraps the OS error)."""
    for cause in _chain(error):
        name = type(cause).__name__
        status = getattr(cause, "status", None)
        if name == "ClientHttpProxyError" and status:
            return f"the proxy answered HTTP {status}"
        if name == "ClientProxyConnectionError":
            inner = getattr(cause, "os_error", None)
            reason = describe_failure(inner) if isinstance(inner, BaseException) else name
            return f"the proxy cannot be reached ({reason})"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate was not accepted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or name})"
        if isinstance(cause, socket.gaierror):
            return "the host name does not resolve (no DNS answer)"
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "no route to the host"
        if isinstance(cause, TimeoutError) or name in ("TimedOut", "ConnectTimeout"):
            return "no answer in time (timed out)"
    return type(error).__name__
