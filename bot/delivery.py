"""Delivery: sends outbox rows through their channel, retrying until they get through.

Each channel registers a :class:`Sender`. The worker claims due rows (a lease, so a crash
mid-send leaves the row to be sent again, and replicas never share a row), resolves the thread
or message a row refers to (``thread_key``, ``edit_key``) into the platform's own ids, sends,
and records where the message landed (``ref_key``) for later threads and edits. A 429 waits
exactly the ``retry_after`` the platform asked for; other failures back off exponentially.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store import outbox
from store.clock import Clock, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformRef:
    """Where a message is on a platform."""

    chat_id: str
    message_id: str


@dataclass(frozen=True)
class Outgoing:
    """An outbox row made ready for a channel: plain text, buttons, and where it goes."""

    to: str  # "staff" (the channel's staff destination) or a chat id
    text: str
    buttons: list[list[list[str]]] = field(default_factory=list)  # rows of [label, action]
    thread: PlatformRef | None = None  # post as a reply in this thread
    edit: PlatformRef | None = None  # replace this message
    mention: bool = False  # call for attention (@here, a notification sound)
    kind: str = ""
    subject: str = ""  # the key of what it is about ("ticket:7"), for channels that show it


class RetryLater(Exception):
    """The platform asked to wait (HTTP 429) or is briefly unavailable."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class Sender(Protocol):
    """A channel's way of sending; returns where the message landed (None if unknown)."""

    async def send(self, message: Outgoing) -> PlatformRef | None: ...


class Deliverer:
    """Sends pending outbox rows through the registered senders."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: dict[str, Sender],
        *,
        clock: Clock = utcnow,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver now rather than at the next poll (after a message queued something)."""
        self._wake.set()

    def _prepare(
        self, session: Session, channel: str, payload: dict[str, Any], kind: str
    ) -> Outgoing:
        def ref(key: str | None) -> PlatformRef | None:
            found = outbox.find_ref(session, key, channel) if key else None
            return PlatformRef(found.chat_id, found.message_id) if found else None

        return Outgoing(
            to=str(payload.get("to", "staff")),
            text=str(payload.get("text", "")),
            buttons=payload.get("buttons") or [],
            thread=ref(payload.get("thread_key")),
            edit=ref(payload.get("edit_key")),
            mention=bool(payload.get("mention")),
            kind=kind,
            subject=str(
                payload.get("ref_key") or payload.get("edit_key") or payload.get("thread_key") or ""
            ),
        )

    async def run_once(self) -> int:
        """Send what is due now; returns how many messages were sent."""
        with self.sessions() as session, session.begin():
            rows = outbox.claim(
                session,
                channels=list(self.senders),
                now=self.clock(),
                limit=self.batch,
                lease=self.lease,
            )
            work = [(row.id, row.channel, row.kind, row.payload, row.attempts) for row in rows]
        sent = 0
        for row_id, channel, kind, payload, attempts in work:
            # refs are resolved now, not at claim time: a card sent a moment ago is a thread
            with self.sessions() as session:
                message = self._prepare(session, channel, payload, kind)
            try:
                landed = await self.senders[channel].send(message)
            except RetryLater as exc:
                self._retry(row_id, timedelta(seconds=max(exc.retry_after, 0.5)), str(exc))
                continue
            except Exception as exc:  # a channel error must not stop delivery of the rest
                delay = timedelta(seconds=min(2**attempts, 300))
                self._retry(row_id, delay, type(exc).__name__)
                continue
            ref_key = payload.get("ref_key") or payload.get("edit_key")
            with self.sessions() as session, session.begin():
                outbox.mark_sent(session, row_id, now=self.clock())
                if landed is not None and ref_key:
                    outbox.remember_ref(
                        session, ref_key, channel, landed.chat_id, landed.message_id
                    )
            sent += 1
        return sent

    def _retry(self, row_id: int, delay: timedelta, reason: str) -> None:
        """Try row ``row_id`` again after ``delay``; ``reason`` names the failure's kind only."""
        with self.sessions() as session, session.begin():
            now = self.clock()
            retried = outbox.mark_retry(session, row_id, now=now, delay=delay, error=reason)
        if retried:
            log.warning("outbox %d: %s; retrying in %.0fs", row_id, reason, delay.total_seconds())
        else:
            log.error("outbox %d: giving up after repeated failures: %s", row_id, reason)

    async def run_forever(self, poll_seconds: float = 2.0) -> None:
        """Deliver until cancelled: as soon as a commit in this process queues something (or
        :meth:`wake` is called), and every ``poll_seconds`` for other processes' rows."""
        loop = asyncio.get_running_loop()

        def wake_soon() -> None:  # called in whichever thread committed
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(self.wake)

        with self.sessions() as session:
            engine = session.get_bind()
        assert isinstance(engine, Engine), "the session factory is bound to an engine"
        stop_listening = outbox.on_commit(engine, wake_soon)
        try:
            await self._deliver_forever(poll_seconds)
        finally:
            stop_listening()

    async def _deliver_forever(self, poll_seconds: float) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception:
                log.exception("delivery round failed")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that
            # arrives as the wake-up does, and the worker would then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
