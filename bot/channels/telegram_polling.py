"""Long polling that survives an update python-telegram-bot cannot parse.

python-telegram-bot parses the updates of one ``getUpdates`` answer together: one it cannot
read (a field of a type it does not expect, from a Bot API newer than the library, say) fails
them all. The offset then never moves, the same answer comes back at once, and the bot spins
on ``getUpdates`` in a tight loop, answering nobody and logging CRITICAL lines that hold every
update of the answer, other customers' messages included.

:class:`ScreeningBot` lets the library parse as usual and, only when that fails, parses the
answer's updates one by one (the raw answer is kept by :class:`RememberingRequest`, the
``getUpdates`` transport): each unreadable update is logged once, with its ``update_id`` and
size only, and replaced by an empty update of the same id, which the channel ignores and whose
id moves the offset past it, so Telegram forgets it. The library's own dump of the answer is
dropped from the log (:class:`DropUpdateDump`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TelegramError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

# where python-telegram-bot dumps an answer it could not parse (ExtBot logs under its own name)
BOT_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")
# a timeout the caller may leave out (BaseRequest.DEFAULT_NONE): python-telegram-bot's own type
Timeout = ODVInput[float]
_DEFAULT = BaseRequest.DEFAULT_NONE


class RememberingRequest(BaseRequest):
    """The ``getUpdates`` transport: ``inner`` does the HTTP, this keeps the last answer."""

    __slots__ = ("_inner", "last")

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner
        self.last: list[Any] | None = None

    @property
    def read_timeout(self) -> float | None:
        """The inner transport's (long polling adds its poll time to it)."""
        return self._inner.read_timeout

    async def initialize(self) -> None:
        """Open the inner transport."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Close the inner transport."""
        await self._inner.shutdown()

    # BaseRequest.post is @final, but wrapping it is the one place the raw parsed answer is seen
    async def post(  # type: ignore[misc]
        self,
        url: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = _DEFAULT,
        write_timeout: Timeout = _DEFAULT,
        connect_timeout: Timeout = _DEFAULT,
        pool_timeout: Timeout = _DEFAULT,
    ) -> dict[str, Any] | list[dict[str, Any]] | bool:
        """See :meth:`BaseRequest.post`; the answer is also kept in :attr:`last`."""
        self.last = None
        result = await super().post(
            url, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        self.last = result if isinstance(result, list) else None
        return result

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = _DEFAULT,
        write_timeout: Timeout = _DEFAULT,
        connect_timeout: Timeout = _DEFAULT,
        pool_timeout: Timeout = _DEFAULT,
    ) -> tuple[int, bytes]:
        """The inner transport's request."""
        return await self._inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


class ScreeningBot(ExtBot[Any]):
    """An ExtBot whose ``get_updates`` skips, and acknowledges, updates it cannot parse."""

    __slots__ = ("_fetched", "_on_fetched")

    def __init__(self, *, get_updates_request: RememberingRequest, **kwargs: Any) -> None:
        self._fetched = get_updates_request
        self._on_fetched: Callable[[Sequence[Update]], Awaitable[None]] | None = None
        super().__init__(get_updates_request=get_updates_request, **kwargs)

    def store_fetched_with(self, store: Callable[[Sequence[Update]], Awaitable[None]]) -> None:
        """Await ``store`` with each answer's updates before returning them: the channel
        puts them in the inbox, and the offset that confirms them goes out only after."""
        self._on_fetched = store

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: Any = None,
        allowed_updates: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        """See :meth:`telegram.Bot.get_updates`; an unreadable update becomes an empty one,
        and they are all stored (:meth:`store_fetched_with`) before they are returned."""
        updates = await self._parsed_updates(offset, limit, timeout, allowed_updates, **kwargs)
        if updates and self._on_fetched is not None:
            try:
                await self._on_fetched(updates)
            except Exception as error:  # the store is down: fetch them again, after a pause
                # (a TelegramError makes python-telegram-bot's polling loop back off; the
                # offset has not moved, so Telegram keeps the updates)
                raise NetworkError(f"updates not stored ({type(error).__name__})") from error
        return updates

    async def _parsed_updates(
        self,
        offset: int | None,
        limit: int | None,
        timeout: Any,
        allowed_updates: Sequence[str] | None,
        **kwargs: Any,
    ) -> tuple[Update, ...]:
        try:
            return await super().get_updates(
                offset=offset,
                limit=limit,
                timeout=timeout,
                allowed_updates=allowed_updates,
                **kwargs,
            )
        except TelegramError:
            raise
        except Exception:
            raw = self._fetched.last
            if raw is None:
                raise
            self._fetched.last = None
            updates = screened(raw, self)
            for update in updates:
                self.insert_callback_data(update)
            return updates


def screened(raw: list[Any], bot: ExtBot[Any]) -> tuple[Update, ...]:
    """The updates of a ``getUpdates`` answer, each unreadable one logged and left empty."""
    updates = []
    for data in raw:
        try:
            updates.append(Update.de_json(data, bot))
            continue
        except Exception as error:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            dumped = json.dumps(data, ensure_ascii=False, default=str)
            size = len(dumped.encode("utf-8", "surrogatepass"))  # lone surrogates count too
            log.warning(
                "telegram: update %s could not be read (%d bytes, %s); skipped",
                update_id,
                size,
                type(error).__name__,
            )
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            empty = Update(update_id=update_id)  # acknowledged: the offset moves past it
            empty.set_bot(bot)
            updates.append(empty)
    return tuple(updates)


class DropUpdateDump(logging.Filter):
    """Drop python-telegram-bot's CRITICAL dump of an answer it could not parse: it holds
    every update of the answer (others' messages too), and :func:`screened` logs instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Error while parsing updates" not in str(record.msg)
