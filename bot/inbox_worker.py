"""The inbox worker: a channel's stored deliveries go to the router, the replies go out.

A channel stores what arrives with :meth:`InboxWorker.accept` (which returns once the rows
are committed, so the channel may then acknowledge the platform) and wakes the worker. The
worker reads the due rows (``store/inbox.py``: each person's oldest pending one), hands them
to the router as one batch, and inside the batch's transaction marks them done and records
the replies as outbox rows held back for a lease. After the commit it sends the replies at
once through the channel's sender and marks them sent; a reply that fails, or that a crash
kept from being sent, is delivered by the delivery worker when its lease ends. So a message
is answered once whichever replica holds it, one person's messages in order, and nothing that
was acknowledged is lost.

A message whose handling fails on its own is tried again later (after 1, 5, 30 seconds); after
the last attempt its sender gets the polite fallback and the row is marked failed. When the
store cannot be reached, nothing is marked and nothing is answered: the rows wait.

Both sides are group commits: the deliveries that arrive while one insert runs are inserted
together by the next, and the rows that arrive while the router works on a batch are its next
batch, one transaction for up to ``MAX_BATCH`` messages of different people. Under light load
a batch holds one message and nothing waits; under a burst, batches grow and the cost per
message falls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot.app import App
from bot.delivery import Deliverer, Sender
from bot.group_commit import GroupCommit
from bot.inbox_batch import BatchOfRows, Handled
from handlers.messages import IncomingMessage, Reply
from store import inbox, outbox
from store.db import sqlstate, without_waiting_for_disk
from store.inbox import Arrival
from store.models import InboxItem
from store.write_retry import with_write_retries

__all__ = ["Answering", "Arrival", "InboxWorker", "arrival", "user_key"]

log = logging.getLogger(__name__)

MAX_BATCH = 128  # messages per router call; bounds the time one transaction holds the writer
# Batches in flight at once on PostgreSQL: two, so that one batch's round trips to the server
# overlap the other's Python. More only contend for the GIL (measured on the Telegram
# benchmark: 320 msg/s with 2, 237 with 8). SQLite has one writer: one batch at a time.
POSTGRES_BATCHES = 2
ATTEMPTS = 4  # handling attempts before a message is answered with the fallback
RETRY_DELAYS = (1.0, 5.0, 30.0)  # seconds before the 2nd, 3rd, 4th attempt
POLL_SECONDS = 1.0  # looking for rows another process left, when nothing wakes the worker
STORE_DOWN_SECONDS = 2.0  # waiting before the next try when the store cannot be reached
PRUNE_EVERY = timedelta(minutes=10)


def router_threads(dialect: str) -> int:
    """How many batches may run at once on a database of ``dialect``."""
    return 1 if dialect == "sqlite" else POSTGRES_BATCHES


class Answering(Protocol):
    """The channel's part: how a reply to one of its messages is addressed."""

    def outgoing(
        self, message: IncomingMessage, route: dict[str, Any], reply: Reply
    ) -> dict[str, Any]:
        """The outbox payload that answers ``message`` with ``reply`` (``to``, ``text``,
        ``buttons`` and whatever the channel's sender reads: ``reply_to``, ``private_to``...)."""


class InboxWorker:
    """Accepts one channel's deliveries into the inbox and works them off."""

    def __init__(
        self,
        app: App,
        channel: str,
        answering: Answering,
        sender: Sender,
        deliverer: Deliverer,
    ) -> None:
        self.app = app
        self.channel = channel
        self.answering = answering
        self.sender = sender
        self.deliverer = deliverer
        store = app.settings.store
        self.retention = timedelta(hours=store.inbox_retention_hours)
        self.reply_lease = timedelta(seconds=store.reply_lease_seconds)
        self.clock = app.services.clock
        threads = router_threads(app.engine.dialect.name)
        self._parallel = threads
        self._router_pool = ThreadPoolExecutor(threads, thread_name_prefix=f"{channel}-router")
        self._accept_pool = ThreadPoolExecutor(1, thread_name_prefix=f"{channel}-inbox")
        # On SQLite one writer thread serves both (they would only wait for each other's
        # lock). Elsewhere the marks have their own: a mark waiting out an outage of the
        # store must not hold back the accepts, which fail at once so the platform redelivers.
        self._mark_pool = (
            self._accept_pool
            if app.engine.dialect.name == "sqlite"
            else ThreadPoolExecutor(1, thread_name_prefix=f"{channel}-marks")
        )
        self._accepts = GroupCommit(self._insert, self._accept_pool)
        self._marks = GroupCommit(self._mark_answered, self._mark_pool)
        self._busy_users: set[str] = set()
        self._busy_lock = threading.Lock()
        self._wake = asyncio.Event()
        self._drains: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None

    # --- accepting -------------------------------------------------------------------------

    async def accept(self, arrivals: Sequence[Arrival]) -> list[bool]:
        """Store ``arrivals``; True for each new one (False: a redelivery, already stored).

        Returns once they are committed: the caller may then acknowledge them. Raises if the
        store cannot be reached, and the caller must not acknowledge.
        """
        new = await self._accepts.submit(arrivals)
        if any(new):
            self.wake()
        return new

    def _insert(self, arrivals: list[Arrival]) -> list[bool]:
        with self.app.sessions() as session, session.begin():
            return inbox.accept(session, arrivals, self.clock())

    # --- working ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the inbox now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Work the inbox in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._work_forever())

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batches in progress (up to ``timeout``), then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._drains:
            await asyncio.wait(set(self._drains), timeout=timeout)
        self._router_pool.shutdown(wait=False)
        self._accept_pool.shutdown(wait=False)
        self._mark_pool.shutdown(wait=False)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) until everything accepted is answered or waits to be
        retried: no insert or batch in progress and no row due."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                if self._drains:
                    await asyncio.wait(set(self._drains))
                    continue
                if (
                    not self._accepts.busy
                    and not self._marks.busy
                    and not await loop.run_in_executor(self._accept_pool, self._anything_due)
                ):
                    return
                self.wake()
                await asyncio.sleep(0.01)

    def _anything_due(self) -> bool:
        with self.app.sessions() as session:
            return bool(inbox.due(session, channel=self.channel, now=self.clock(), limit=1))

    async def _work_forever(self) -> None:
        while True:
            self._wake.clear()
            while len(self._drains) < self._parallel:
                drain = asyncio.get_running_loop().create_task(self._drain())
                self._drains.add(drain)
                drain.add_done_callback(self._drains.discard)
                if len(self._drains) >= self._parallel:
                    break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()

    async def _drain(self) -> None:
        """Handle batches until nothing is due; after a store failure wait a little."""
        try:
            while await self._drain_once():
                pass
        except Exception as error:  # the store is down, say: the rows wait for the next try
            code = sqlstate(error) or ""
            log.warning("the inbox could not be worked: %s %s", type(error).__name__, code)
            await asyncio.sleep(STORE_DOWN_SECONDS)

    async def _drain_once(self) -> bool:
        """One batch: handle it, send its replies. False if nothing was due."""
        loop = asyncio.get_running_loop()
        handled = await loop.run_in_executor(self._router_pool, self._handle_due)
        if handled is None:
            return False
        try:
            await self._send(handled)
        finally:
            with self._busy_lock:
                self._busy_users -= {h.user_key for h in handled}
        return True

    def _handle_due(self) -> list[Handled] | None:
        """Read a batch of due rows and run the router on it (in a worker thread)."""
        now = self.clock()
        with self._busy_lock:
            busy = set(self._busy_users)
        with self.app.sessions() as session:
            rows = inbox.due(
                session, channel=self.channel, now=now, limit=MAX_BATCH, busy_users=busy
            )
        with self._busy_lock:  # another drain may have taken some of them meanwhile
            rows = [row for row in rows if row.user_key not in self._busy_users]
            self._busy_users |= {row.user_key for row in rows}
        if not rows:
            self._prune(now)
            return None
        hooks = BatchOfRows(self, rows)
        try:
            self.app.router.handle_batch(hooks.messages, hooks)
        except Exception:
            with self._busy_lock:
                self._busy_users -= {row.user_key for row in rows}
            raise
        handled = list(hooks.handled.values())
        taken = {h.user_key for h in handled}
        with self._busy_lock:  # the users with nothing to send are free again at once
            self._busy_users -= {row.user_key for row in rows} - taken
        return handled

    async def _send(self, handled: list[Handled]) -> None:
        """Send the replies of a committed batch, each person's in order, and mark them."""
        work = [h for h in handled if h.replies]
        if not work:
            return

        async def send_and_mark(done: Handled) -> None:
            # marked as soon as they are out: a crash between a send and its mark sends that
            # reply again after its lease (Telegram has no idempotency key), so the window is
            # kept to one message's, not a whole batch's. What could not be sent now is the
            # delivery worker's; either way the person's next message may be answered now.
            sent = await self.deliverer.send_recorded(self.sender, self.channel, done.replies)
            await self._marks.submit([(done, sent)])

        await asyncio.gather(*(send_and_mark(done) for done in work))

    def _mark_answered(self, answered: list[tuple[Handled, Sequence[int]]]) -> list[None]:
        """Record the replies sent and release their messages' rows: one short write for all
        the messages answered while the last one ran."""
        sent_ids = [message_id for _, sent in answered for message_id in sent]
        item_ids = [done.item_id for done, _ in answered]

        def mark() -> None:
            with self.app.sessions() as session, session.begin():
                without_waiting_for_disk(session)
                outbox.mark_all_sent(session, sent_ids, now=self.clock())
                inbox.finish(session, item_ids)

        # the replies are out: a lost mark would send them again after their lease, so the
        # mark is worth trying (through an outage of the store) for nearly that long
        with_write_retries(
            mark,
            f"marking {len(answered)} answered messages",
            within=self.reply_lease.total_seconds() * 0.9,
        )
        return [None] * len(answered)

    def _prune(self, now: datetime) -> None:
        """Forget handled rows older than the retention, every few minutes when idle."""
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            with self.app.sessions() as session, session.begin():
                inbox.finish_abandoned(session, now)  # by a process that died while sending
                pruned = inbox.prune(session, before=now - self.retention)
        except Exception as error:
            log.warning("pruning the inbox failed: %s", type(error).__name__)
            return
        if pruned:
            log.info("inbox: %d handled deliveries older than %s forgotten", pruned, self.retention)

    # --- the batch's hooks (called by the router, in its thread) ----------------------------

    def record_replies(
        self,
        session: Session,
        answered: Sequence[tuple[IncomingMessage, dict[str, Any], Sequence[Reply]]],
    ) -> list[list[tuple[int, dict[str, Any]]]]:
        """Write the replies to each message (with its route) to the outbox, in one statement,
        held back from the delivery worker for a lease; each message's ``(id, payload)``s."""
        now = self.clock()
        payloads = [
            [self.answering.outgoing(message, route, reply) for reply in replies]
            for message, route, replies in answered
        ]
        ids = iter(
            outbox.enqueue_many(
                session,
                channel=self.channel,
                kind="reply",
                payloads=[payload for own in payloads for payload in own],
                now=now,
                available_at=now + self.reply_lease,
            )
        )
        return [[(next(ids), payload) for payload in own] for own in payloads]

    def give_back(self, item: InboxItem, message: IncomingMessage, error: Exception) -> None:
        """A message failed on its own: due again after a pause, or, after the last attempt,
        failed for good and answered with the fallback (recorded like any reply)."""
        now = self.clock()
        delay = RETRY_DELAYS[min(item.attempts, len(RETRY_DELAYS) - 1)]
        with self.app.sessions() as session, session.begin():
            retried = inbox.retry_later(
                session,
                item.id,
                now=now,
                delay=timedelta(seconds=delay),
                give_up_after=ATTEMPTS,
            )
            if retried:
                log.warning(
                    "inbox %d: handling failed (%s); trying again in %.0fs",
                    item.id,
                    type(error).__name__,
                    delay,
                )
                return
            log.error(
                "inbox %d: handling failed %d times; answered with the fallback", item.id, ATTEMPTS
            )
            fallback = self.app.router.fallback(message, error)
            payload = self.answering.outgoing(message, item.route or {}, fallback)
            outbox.enqueue(session, channel=self.channel, kind="reply", payload=payload, now=now)


def user_key(message: IncomingMessage) -> str:
    """Whose message it is, for ordering: the channel and the platform's user id."""
    return f"{message.channel}:{message.user_id}"


def arrival(message: IncomingMessage, key: str, route: dict[str, Any] | None = None) -> Arrival:
    """The inbox row for ``message``, delivered under the platform id ``key``."""
    return Arrival(message.channel, key, user_key(message), message.as_record(), route or {})
