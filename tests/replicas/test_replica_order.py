"""Three real ``crossdesk run`` replicas behind the load balancer, each customer's messages
posted to different replicas one after another (as Telegram delivers a chat's updates), a
fifth posted again to yet another replica: every customer gets exactly one answer per
message, in the order they wrote.

Before the inbox held a person's next message back until the replies to the one before were
out, a second replica could answer the next message while the first was still sending.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes.telegram_process import FakeServer
from tests.replicas.harness import STAFF_CHAT, LoadBalancer, Replica, customer_update
from tests.replicas.test_replicas import _store_counts

# CI's size; a measuring run sets more, e.g. CROSSDESK_REPLICAS=2 CROSSDESK_REPLICA_CUSTOMERS=1000
# (and CROSSDESK_REPLICA_DISPUTERS=300 for the ticket threads below)
REPLICAS = int(os.environ.get("CROSSDESK_REPLICAS", "3"))
CUSTOMERS = int(os.environ.get("CROSSDESK_REPLICA_CUSTOMERS", "150"))
# three questions with three different answers, asked in this order by everyone
MESSAGES = ("How long does delivery take?", "How do I return an item?", "Do you ship to Canada?")
IN_FLIGHT = 24
ANSWER_TIMEOUT = 180.0 + 0.2 * CUSTOMERS


def _replicas(folder: Path, db_url: str, fake: FakeServer, prefix: str) -> list[Replica]:
    """:data:`REPLICAS` webhook replicas on ``db_url``, started (not yet ready)."""
    replicas = [
        Replica(folder, f"{prefix}{n}", db_url, fake, webhook=True) for n in range(REPLICAS)
    ]
    for replica in replicas:
        replica.start()
    return replicas


async def _each_in_turn(
    balancer: LoadBalancer, said: dict[int, tuple[str, ...]], first_update: int
) -> None:
    """Every customer's messages, each posted once the one before was taken (as Telegram
    delivers a chat's updates), successive ones to different replicas, a fifth twice."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def customer(n: int, chat: int) -> None:
        for m, text in enumerate(said[chat]):
            update = customer_update(first_update + n * len(said[chat]) + m, chat, text)
            async with gate:
                await balancer.deliver(update, n + m, again=(n + m) % 5 == 0)

    await asyncio.gather(*(customer(n, chat) for n, chat in enumerate(said)))


async def test_replicas_answer_each_customers_messages_once_and_in_order(
    db_url: str, tmp_path: Path, fake: FakeServer
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL store; SQLite serves one process")
    replicas = _replicas(tmp_path, db_url, fake, "r")
    chats = [80_000 + n for n in range(CUSTOMERS)]
    try:
        await asyncio.gather(*(replica.ready(fake) for replica in replicas))
        async with LoadBalancer(replicas) as balancer:
            started = time.monotonic()
            await _each_in_turn(balancer, {chat: MESSAGES for chat in chats}, 300_000)
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
    assert _store_counts(db_url)[1] == {"done": CUSTOMERS * len(MESSAGES)}
    assert exits == [0] * REPLICAS
    assert sum(replica.tracebacks() for replica in replicas) == 0


DISPUTE = "My parcel arrived broken and I want a refund"
DISPUTERS = int(os.environ.get("CROSSDESK_REPLICA_DISPUTERS", "60"))  # CI's size


def _marker(chat: int) -> str:
    """A word naming the customer, without digits (an order number would be looked up)."""
    return "ref" + "".join(chr(ord("a") + int(digit)) for digit in str(chat))


async def test_three_replicas_keep_every_ticket_line_in_its_own_cards_thread(
    db_url: str, tmp_path: Path, fake: FakeServer
) -> None:
    """A dispute opens a ticket (its card in the staff chat); the customer's next two messages,
    taken by other replicas, are lines in that card's thread, never in another's."""
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL store; SQLite serves one process")
    replicas = _replicas(tmp_path, db_url, fake, "t")
    chats = [85_000 + n for n in range(DISPUTERS)]
    said = {
        chat: (DISPUTE, f"Still waiting, please hurry {_marker(chat)}",
               f"I sent photos of the damage {_marker(chat)}")
        for chat in chats
    }  # fmt: skip
    try:
        await asyncio.gather(*(replica.ready(fake) for replica in replicas))
        async with LoadBalancer(replicas) as balancer:
            await _each_in_turn(balancer, said, 500_000)
            deadline = time.monotonic() + ANSWER_TIMEOUT
            while True:
                staff = [m for m in await asyncio.to_thread(fake.control, "sent?detail=1")
                         if m["chat_id"] == STAFF_CHAT]  # fmt: skip
                lines = [m for m in staff if m["reply_to"]]
                if len(staff) - len(lines) >= DISPUTERS and len(lines) >= 2 * DISPUTERS:
                    break
                assert time.monotonic() < deadline, f"{len(staff)} staff messages"
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # a line sent twice, or late, would come now
            staff = [m for m in await asyncio.to_thread(fake.control, "sent?detail=1")
                     if m["chat_id"] == STAFF_CHAT]  # fmt: skip
    finally:
        exits = [replica.stop() for replica in replicas]
    cards = {m["message_id"]: m["text"] for m in staff if not m["reply_to"]}
    lines = [m for m in staff if m["reply_to"]]
    card_of = {chat: [i for i, text in cards.items() if f"C{chat}" in text] for chat in chats}
    misplaced = []
    for line in lines:
        chat = next(c for c in chats if _marker(c) in line["text"])
        if card_of[chat] != [line["reply_to"]]:
            misplaced.append(chat)
    print(f"{REPLICAS} replicas, {DISPUTERS} disputes: {len(cards)} cards, {len(lines)} thread "
          f"lines, {len(misplaced)} outside their card's thread")  # fmt: skip
    assert all(len(found) == 1 for found in card_of.values())  # one card per ticket
    assert len(cards) == DISPUTERS
    assert len(lines) == 2 * DISPUTERS and misplaced == []
    assert exits == [0] * REPLICAS
