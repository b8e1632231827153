"""MessageBatcher: what arrives while the router is busy goes over as one batch, one message
per user, in order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.message_batches import MessageBatcher
from handlers.messages import IncomingMessage, Reply


class RecordingRouter:
    """Answers each message with its own text and remembers the batches; the first batch can
    be held until the test lets it go, so that others queue up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def handle_batch(self, messages: Sequence[IncomingMessage]) -> list[list[Reply]]:
        self.started.set()
        self.release.wait(timeout=10)
        self.batches.append([m.text for m in messages])
        return [[Reply(f"re: {m.text}")] for m in messages]


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown(wait=True)


def _message(user: str, words: str) -> IncomingMessage:
    return IncomingMessage.from_text("telegram", user, user, words)


async def _queued_behind_first(
    batcher: MessageBatcher, router: RecordingRouter, messages: list[IncomingMessage]
) -> list[list[Reply]]:
    """Send messages[0], wait until the router holds it, queue the rest, then let go."""
    first = asyncio.create_task(batcher.handle(messages[0]))
    await asyncio.to_thread(router.started.wait, 10)
    rest = [asyncio.create_task(batcher.handle(m)) for m in messages[1:]]
    await asyncio.sleep(0)  # let them queue
    router.release.set()
    return await asyncio.gather(first, *rest)


async def test_messages_that_wait_go_over_together(threads: ThreadPoolExecutor) -> None:
    router = RecordingRouter()
    batcher = MessageBatcher(router.handle_batch, threads)
    messages = [_message(f"u{n}", f"m{n}") for n in range(6)]
    replies = await _queued_behind_first(batcher, router, messages)
    assert [r[0].text for r in replies] == [f"re: m{n}" for n in range(6)]  # each its own
    assert router.batches == [["m0"], ["m1", "m2", "m3", "m4", "m5"]]


async def test_one_message_per_user_per_batch_in_order(threads: ThreadPoolExecutor) -> None:
    router = RecordingRouter()
    batcher = MessageBatcher(router.handle_batch, threads)
    messages = [
        _message("a", "a1"),
        _message("a", "a2"),
        _message("b", "b1"),
        _message("a", "a3"),
        _message("c", "c1"),
    ]
    replies = await _queued_behind_first(batcher, router, messages)
    assert [r[0].text for r in replies] == ["re: a1", "re: a2", "re: b1", "re: a3", "re: c1"]
    assert router.batches == [["a1"], ["a2", "b1", "c1"], ["a3"]]


async def test_batches_are_capped(threads: ThreadPoolExecutor) -> None:
    router = RecordingRouter()
    batcher = MessageBatcher(router.handle_batch, threads, max_batch=2)
    messages = [_message(f"u{n}", f"m{n}") for n in range(6)]
    await _queued_behind_first(batcher, router, messages)
    assert [len(batch) for batch in router.batches] == [1, 2, 2, 1]


async def test_parallel_batches_never_share_a_user(threads: ThreadPoolExecutor) -> None:
    router = RecordingRouter()
    batcher = MessageBatcher(router.handle_batch, threads, parallel=2)
    first = asyncio.create_task(batcher.handle(_message("a", "a1")))
    await asyncio.to_thread(router.started.wait, 10)
    second = asyncio.create_task(batcher.handle(_message("a", "a2")))
    third = asyncio.create_task(batcher.handle(_message("b", "b1")))
    await asyncio.sleep(0.05)
    assert not second.done()  # a's second message waits for the first
    router.release.set()
    await asyncio.gather(first, second, third)
    a_batches = [i for i, batch in enumerate(router.batches) if any(t[0] == "a" for t in batch)]
    assert len(a_batches) == 2
    assert router.batches.index(["a1"]) < next(
        i for i, batch in enumerate(router.batches) if "a2" in batch
    )


async def test_a_router_bug_reaches_the_waiting_callers(threads: ThreadPoolExecutor) -> None:
    calls: list[int] = []

    def buggy_once(messages: Sequence[IncomingMessage]) -> list[list[Reply]]:
        calls.append(len(messages))
        if len(calls) == 1:
            raise RuntimeError("bug")
        return [[Reply("ok")] for _ in messages]

    batcher = MessageBatcher(buggy_once, threads)
    with pytest.raises(RuntimeError):
        await batcher.handle(_message("a", "a1"))
    assert (await batcher.handle(_message("a", "a2")))[0].text == "ok"  # still serving
