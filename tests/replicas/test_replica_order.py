"""Three real ``crossdesk run`` replicas behind the load balancer, each customer's messages
posted to different replicas one after another (as Telegram delivers a chat's updates), a
fifth posted again to yet another replica: every customer gets exactly one answer per
message, in the order they wrote.

Before the inbox held a person's next message back until the replies to the one before were
out, a second replica could answer the next message while the first was still sending.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import inbox
from store.db import create_store_engine, session_factory
from tests.fakes.telegram_process import FakeServer
from tests.replicas.harness import LoadBalancer, Replica, customer_update

REPLICAS = 3
CUSTOMERS = 150
# three questions with three different answers, asked in this order by everyone
MESSAGES = ("How long does delivery take?", "How do I return an item?", "Do you ship to Canada?")
IN_FLIGHT = 24
ANSWER_TIMEOUT = 180.0


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def _rows(url: str) -> dict[str, int]:
    engine = create_store_engine(url)
    try:
        with session_factory(engine)() as session:
            return inbox.counts(session)
    finally:
        engine.dispose()


async def test_three_replicas_answer_each_customers_messages_once_and_in_order(
    db_url: str, tmp_path: Path, fake: FakeServer
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL store; SQLite serves one process")
    replicas = [Replica(tmp_path, f"r{n}", db_url, fake, webhook=True) for n in range(REPLICAS)]
    for replica in replicas:
        replica.start()
    chats = [80_000 + n for n in range(CUSTOMERS)]
    gate = asyncio.Semaphore(IN_FLIGHT)
    try:
        await asyncio.gather(*(replica.ready(fake) for replica in replicas))
        async with LoadBalancer(replicas) as balancer:

            async def customer(n: int, chat: int) -> None:
                for m, text in enumerate(MESSAGES):  # the next once the last was taken
                    update = customer_update(300_000 + n * len(MESSAGES) + m, chat, text)
                    async with gate:
                        await balancer.deliver(update, n + m, again=(n + m) % 5 == 0)

            started = time.monotonic()
            await asyncio.gather(*(customer(n, chat) for n, chat in enumerate(chats)))
            deadline = started + ANSWER_TIMEOUT
            while True:
                sent = await asyncio.to_thread(fake.sent)
                if all(len(sent.get(str(c), [])) >= len(MESSAGES) for c in chats):
                    break
                assert time.monotonic() < deadline, "not every message was answered"
                await asyncio.sleep(0.5)
            elapsed = time.monotonic() - started
            await asyncio.sleep(3)  # a second answer would come now
            sent = await asyncio.to_thread(fake.sent)
            redelivered = balancer.redelivered
    finally:
        exits = [replica.stop() for replica in replicas]
    answers = {chat: tuple(sent.get(str(chat), [])) for chat in chats}
    order = Counter(answers.values()).most_common(1)[0][0]  # what nearly everyone got
    out_of_order = [c for c, got in answers.items() if len(got) == 3 and got != order]
    twice = [c for c, got in answers.items() if len(got) > len(MESSAGES)]
    print(
        f"{REPLICAS} replicas, {CUSTOMERS} customers x {len(MESSAGES)} messages: "
        f"{CUSTOMERS * len(MESSAGES) / elapsed:.0f} msg/s, redelivered={redelivered}, "
        f"answered_twice={len(twice)}, out_of_order={len(out_of_order)}"
    )
    assert len(set(order)) == len(MESSAGES)  # three different answers
    assert twice == [] and out_of_order == []
    assert redelivered >= CUSTOMERS * len(MESSAGES) // 10
    assert _rows(db_url) == {"done": CUSTOMERS * len(MESSAGES)}
    assert exits == [0] * REPLICAS
    assert sum(replica.tracebacks() for replica in replicas) == 0
