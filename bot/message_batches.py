"""Concurrent messages go to the router in batches: group commit for chat messages.

A channel handles the updates of many chats at once, and each one wants the router. Handing
them over one at a time costs a transaction and a trip to the worker thread per message;
:class:`MessageBatcher` collects whatever arrives while the router is busy and hands it over
as one :meth:`Router.handle_batch` call, the way a database commits the transactions that
queued behind a disk write together. Under light load a batch holds one message and nothing
waits; under a burst, batches grow and the cost per message falls.

A batch never holds two messages of the same user: theirs stay in order, one batch after the
other, and the router may look a batch's contacts up once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from handlers.messages import IncomingMessage, Reply

log = logging.getLogger(__name__)

MAX_BATCH = 128  # messages per router call; bounds the time one transaction holds the writer
# Batches in flight at once on PostgreSQL: two, so that one batch's round trips to the server
# overlap the other's Python. More only contend for the GIL (measured on the Telegram
# benchmark: 320 msg/s with 2, 237 with 8). SQLite has one writer: one batch at a time.
POSTGRES_BATCHES = 2


def router_threads(dialect: str) -> int:
    """How many batches may run at once on a database of ``dialect``."""
    return 1 if dialect == "sqlite" else POSTGRES_BATCHES


HandleBatch = Callable[[Sequence[IncomingMessage]], list[list[Reply]]]


class MessageBatcher:
    """Runs ``handle_batch`` on batches of the messages given to :meth:`handle`.

    Args:
        handle_batch: the router's batch entry point (synchronous).
        executor: where it runs: a thread pool, because the router is synchronous and talks
            to the database.
        parallel: batches in flight at once (1 for SQLite, which has one writer).
    """

    def __init__(
        self,
        handle_batch: HandleBatch,
        executor: Executor,
        *,
        parallel: int = 1,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._handle_batch = handle_batch
        self._executor = executor
        self._parallel = parallel
        self._max_batch = max_batch
        self._queue: deque[tuple[IncomingMessage, asyncio.Future[list[Reply]]]] = deque()
        self._busy_users: set[tuple[str, str]] = set()
        self._running = 0
        self._drains: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    @classmethod
    def in_threads(cls, handle_batch: HandleBatch, dialect: str, name: str) -> MessageBatcher:
        """A batcher with threads of its own, as many as batches may run on ``dialect``."""
        threads = router_threads(dialect)
        pool = ThreadPoolExecutor(threads, thread_name_prefix=f"{name}-router")
        return cls(handle_batch, pool, parallel=threads)

    @property
    def executor(self) -> Executor:
        """Where the router runs; other store work of the channel may run there too."""
        return self._executor

    def close(self) -> None:
        """Release the threads (batches in flight finish on their own)."""
        self._executor.shutdown(wait=False)

    async def handle(self, message: IncomingMessage) -> list[Reply]:
        """The replies to ``message``, handled in a batch with whatever else is waiting."""
        future: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        self._start()
        return await future

    def _start(self) -> None:
        while self._running < self._parallel and self._ready():
            self._running += 1
            drain = asyncio.get_running_loop().create_task(self._drain())
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)

    def _ready(self) -> bool:
        return any(_user(m) not in self._busy_users for m, _ in self._queue)

    def _take(self) -> list[tuple[IncomingMessage, asyncio.Future[list[Reply]]]]:
        """The next batch: queued messages in order, one per user, none already in flight."""
        batch: list[tuple[IncomingMessage, asyncio.Future[list[Reply]]]] = []
        later: deque[tuple[IncomingMessage, asyncio.Future[list[Reply]]]] = deque()
        users: set[tuple[str, str]] = set()
        while self._queue and len(batch) < self._max_batch:
            item = self._queue.popleft()
            user = _user(item[0])
            if item[1].done():
                continue  # its caller gave up (shutdown)
            if user in users or user in self._busy_users:
                later.append(item)
            else:
                users.add(user)
                batch.append(item)
        self._queue.extendleft(reversed(later))
        self._busy_users |= users
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while batch := self._take():
                messages = [message for message, _ in batch]
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._handle_batch, messages
                    )
                except Exception as error:  # the router answers failures itself; this is a bug
                    log.exception("a batch of %d messages failed", len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                else:
                    for (_, future), replies in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(replies)
                finally:
                    self._busy_users -= {_user(message) for message in messages}
        finally:
            self._running -= 1
            if self._queue:
                self._start()


def _user(message: IncomingMessage) -> tuple[str, str]:
    return message.channel, message.user_id
