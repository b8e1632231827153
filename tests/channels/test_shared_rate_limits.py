"""Telegram's rate limits shared by replicas through Redis: two limiters (two replicas) never
let more calls through a window than one bot may make, a 429 one of them gets pauses both,
and with Redis gone each keeps serving on its own count. The real TelegramChannel sends
through the shared limiter against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.app import App
from bot.channels.telegram_shared_limits import SharedRateLimiter
from tests.channels.telegram_harness import running_channel
from tests.fakes.telegram_api import FakeTelegram

REDIS_URL = os.environ.get("CROSSDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _redis_reachable(), reason="no Redis at " + REDIS_URL)


@pytest.fixture
async def replicas() -> AsyncIterator[list[SharedRateLimiter]]:
    prefix = f"crossdesk-test:{uuid.uuid4().hex}"
    limiters = [
        SharedRateLimiter(REDIS_URL, prefix=prefix, per_second=5, per_group_minute=3)
        for _ in range(2)
    ]
    for limiter in limiters:
        await limiter.initialize()
    yield limiters
    for limiter in limiters:
        await limiter.shutdown()


async def test_two_replicas_together_stay_within_one_bots_rate(
    replicas: list[SharedRateLimiter],
) -> None:
    calls: list[float] = []

    async def send() -> bool:
        calls.append(time.time())
        return True

    await asyncio.gather(
        *(
            replicas[n % 2].process_request(send, (), {}, "sendMessage", {"chat_id": n}, None)
            for n in range(16)
        )
    )
    per_second = Counter(int(at) for at in calls)
    assert len(calls) == 16
    assert max(per_second.values()) <= 5  # each replica alone would have let 16 through
    assert len(per_second) >= 4


async def test_a_slot_counted_in_a_second_that_ended_is_taken_again_in_the_next() -> None:
    """Redis answered after the second it counted the call in had ended: sending now would
    put one call more than allowed into the new second, so the limiter counts it there."""
    prefix = f"crossdesk-test:{uuid.uuid4().hex}"
    readings = iter([1000.999, 1001.001, 1001.002, 1001.003])
    limiter = SharedRateLimiter(REDIS_URL, prefix=prefix, clock=lambda: next(readings))
    await limiter.initialize()
    try:

        async def send() -> bool:
            return True

        assert await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 1}, None)
        counted = [await limiter._redis.get(f"{prefix}:s:{second}") for second in (1000, 1001)]
    finally:
        await limiter.shutdown()
    assert counted == [b"1", b"1"]  # the stale slot is spent; the call went out in 1001's


async def test_a_group_gets_its_per_minute_share_across_replicas(
    replicas: list[SharedRateLimiter],
) -> None:
    sent: list[int] = []

    async def send(n: int) -> bool:
        sent.append(n)
        return True

    tasks = [
        asyncio.create_task(
            replicas[n % 2].process_request(
                send, (n,), {}, "sendMessage", {"chat_id": -100200300}, None
            )
        )
        for n in range(5)
    ]
    await asyncio.sleep(1.5)
    assert len(sent) == 3  # the group's three for this minute, whichever replica sent them
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_429_on_one_replica_pauses_the_other(replicas: list[SharedRateLimiter]) -> None:
    first = [True]
    at: list[float] = []

    async def flooded() -> bool:
        if first:
            first.clear()
            raise RetryAfter(1)
        return True

    async def other() -> bool:
        at.append(time.monotonic())
        return True

    started = time.monotonic()
    one = asyncio.create_task(
        replicas[0].process_request(flooded, (), {}, "sendMessage", {"chat_id": 1}, None)
    )
    await asyncio.sleep(0.1)  # the 429 has come back to replica one
    assert await replicas[1].process_request(other, (), {}, "sendMessage", {"chat_id": 2}, None)
    assert await one
    assert at[0] - started >= 0.9  # replica two waited out the pause replica one was told


async def test_without_redis_each_replica_keeps_serving_on_its_own() -> None:
    limiter = SharedRateLimiter("redis://127.0.0.1:1/0", per_second=5)
    await limiter.initialize()
    try:

        async def send(n: int) -> int:
            return n

        results: list[Any] = await asyncio.gather(
            *(
                limiter.process_request(send, (n,), {}, "sendMessage", {"chat_id": n}, None)
                for n in range(3)
            )
        )
    finally:
        await limiter.shutdown()
    assert results == [0, 1, 2]


async def test_the_channel_sends_through_the_shared_limits(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(
        tg_app, fake, rate_limit=True, rate_limit_redis=REDIS_URL
    ) as channel:
        assert isinstance(channel.application.bot.rate_limiter, SharedRateLimiter)
        fake.message(81, "How do I return an item?")
        sent = await fake.wait_sent(81)
    assert sent[0].text.startswith("You can return items")
