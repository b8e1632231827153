"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

python-telegram-bot sends every Bot API call through a :class:`~telegram.request.BaseRequest`;
its default, ``HTTPXRequest``, spends about three times the CPU of aiohttp per call (measured
by ``benchmarks/telegram_throughput.py``: 1.8 ms against 0.65 ms per answered message on one
core), and a busy bot makes one call per reply. aiohttp is already a CrossDesk dependency (the
Slack channel and its async client use it), so this module is the small adapter between the
two, following python-telegram-bot's documented extension point (the same design as
``ptbcontrib.aiohttp_request``, which is not published on PyPI).

Calls go out as JSON bodies, which the Bot API accepts for every method; uploads go as
multipart forms. Timeouts keep python-telegram-bot's meaning: ``connect_timeout`` to open a
connection, ``read_timeout`` between bytes of the answer (long polling adds its poll time),
``pool_timeout`` to wait for a free connection. aiohttp has no write timeout; a stalled write
ends at the read timeout instead. ``telegram.transport = "httpx"`` brings back the default.
"""

from __future__ import annotations

import logging

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` on one ``aiohttp.ClientSession``.

    Args:
        connection_pool_size: connections kept open to the Bot API server.
        read_timeout, connect_timeout, pool_timeout: defaults for calls that give none, in
            seconds (``None``: wait as long as it takes).
        proxy: an ``http://`` proxy to reach the Bot API through.
    """

    __slots__ = ("_connect", "_pool", "_pool_size", "_proxy", "_read", "_session")

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        proxy: str | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """See :attr:`BaseRequest.read_timeout` (long polling adds its poll time to it)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (in the running event loop); again after a shutdown."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=aiohttp.ClientTimeout(total=None),
                proxy=self._proxy,
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`BaseRequest.do_request`: the HTTP status and the raw answer."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout,
            sock_connect=self._connect
            if isinstance(connect_timeout, DefaultValue)
            else connect_timeout,
            sock_read=self._read if isinstance(read_timeout, DefaultValue) else read_timeout,
        )
        headers = {"User-Agent": self.USER_AGENT}
        body: aiohttp.FormData | bytes | None = None
        if request_data is not None and request_data.contains_files:
            body = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                body.add_field(name, content, filename=filename, content_type=mime_type)
        elif request_data is not None and request_data.parameters:
            body = request_data.json_payload
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:  # aiohttp's timeouts are TimeoutErrors too
            raise TimedOut(f"Bot API call timed out ({type(error).__name__})") from error
        except aiohttp.ClientError as error:
            # the class name only: aiohttp's messages can carry the URL, and the URL the token
            raise NetworkError(f"aiohttp.{type(error).__name__}") from error
