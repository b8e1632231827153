"""Telegram's rate limits shared by every replica, through Redis.

Telegram counts a bot's messages, not a process's: about 30 a second in all and 20 a minute
in one group. python-telegram-bot's ``AIORateLimiter`` counts within its process, so two
replicas send twice what Telegram allows and collect 429s. :class:`SharedRateLimiter` keeps
the counts in Redis instead (one small Lua script per call: a counter per one-second window
for the bot, per one-minute window for a group, both expiring by themselves), and a 429 that
one replica receives pauses them all for the ``retry_after`` Telegram asked.

If Redis cannot be reached, calls go through the process's own ``AIORateLimiter`` (logged
once a minute): the bot keeps serving, within the limits as one process sees them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

log = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]

# Returns 0 to go, else how many milliseconds to wait: a pause another replica set after a
# 429, or until the full window ends.
_TAKE_SLOT = """
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then return pause end
local sent = redis.call('INCR', KEYS[1])
if sent == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
if sent > tonumber(ARGV[1]) then return tonumber(ARGV[5]) end
if KEYS[2] ~= '' then
  local in_group = redis.call('INCR', KEYS[2])
  if in_group == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
  if in_group > tonumber(ARGV[2]) then return tonumber(ARGV[6]) end
end
return 0
"""


class SharedRateLimiter(BaseRateLimiter[int]):
    """A python-telegram-bot rate limiter whose counts live in Redis at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "crossdesk:telegram",
        per_second: int = 30,
        per_group_minute: int = 20,
        max_retries: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._per_second = per_second
        self._per_group_minute = per_group_minute
        self._max_retries = max_retries
        self._clock = clock
        self._script: Any = None
        self._local = AIORateLimiter(max_retries=max_retries)
        self._warned_at = 0.0

    async def initialize(self) -> None:
        """Register the script (Redis may be down now: then the first calls go local)."""
        self._script = self._redis.register_script(_TAKE_SLOT)
        await self._local.initialize()

    async def shutdown(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
        await self._local.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Wait for a slot in the shared counts, call, and share a 429's pause."""
        retries = rate_limit_args or self._max_retries
        group = _group_of(data.get("chat_id"))
        for attempt in range(retries + 1):
            try:
                if not await self._wait_for_slot(group):
                    return await self._local.process_request(
                        callback, args, kwargs, endpoint, data, rate_limit_args
                    )
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = _seconds(error)
                await self._pause_everyone(wait)
                if attempt == retries:
                    raise
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _wait_for_slot(self, group: str | None) -> bool:
        """Wait until the shared counts allow one more call; False if Redis is unreachable."""
        while True:
            now = self._clock()
            second, minute = int(now), int(now // 60)
            keys = [
                f"{self._prefix}:s:{second}",
                f"{self._prefix}:g:{group}:{minute}" if group else "",
                f"{self._prefix}:pause",
            ]
            until_second = max(1, int((second + 1 - now) * 1000))
            until_minute = max(1, int(((minute + 1) * 60 - now) * 1000))
            try:
                wait_ms = await self._script(
                    keys=keys,
                    args=[
                        self._per_second,
                        self._per_group_minute,
                        2000,
                        120_000,
                        until_second,
                        until_minute,
                    ],
                )
            except Exception as error:  # Redis is down: the process counts for itself
                self._warn(error)
                return False
            if int(wait_ms) <= 0:
                if int(self._clock()) == second:
                    return True
                continue  # the window ended while Redis answered: count in the next one
            await asyncio.sleep(int(wait_ms) / 1000)

    async def _pause_everyone(self, seconds: float) -> None:
        try:
            await self._redis.set(f"{self._prefix}:pause", 1, px=max(1, int(seconds * 1000)))
        except Exception as error:
            self._warn(error)

    def _warn(self, error: Exception) -> None:
        if time.monotonic() - self._warned_at > 60:
            self._warned_at = time.monotonic()
            log.warning(
                "telegram: the shared rate limits in Redis cannot be reached (%s); counting "
                "in this process meanwhile",
                type(error).__name__,
            )


def _group_of(chat_id: object) -> str | None:
    """The chat id if it is a group or channel (negative, or an @name), else None."""
    if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
        return chat_id
    try:
        number = int(chat_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return str(number) if number < 0 else None


def _seconds(error: RetryAfter) -> float:
    from bot.channels.telegram_sender import retry_seconds

    return retry_seconds(error) + 0.1
