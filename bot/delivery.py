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
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store import outbox
from store.clock import Clock, utcnow
from store.db import without_waiting_for_disk

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
    private_to: str | None = None  # only this user may see it (Slack: ephemeral)
    response_url: str | None = None  # Slack: answer a command or button through this URL
    visible: bool = False  # with response_url: shown to the whole channel
    pieces_sent: int = 0  # of a text sent in pieces, how many earlier attempts sent already
    subject: str = ""  # the key of what it is about ("ticket:7"), for channels that show it


class RetryLater(Exception):
    """The platform asked to wait (HTTP 429) or is briefly unavailable."""

    def __init__(self, retry_after: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The platform refused the message for good (a chat that does not exist, a bot the
    user blocked, a malformed request): trying again would fail the same way. ``reason``
    names the refusal's kind only (no message text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendInterrupted(Exception):
    """Sending a text in pieces failed after ``pieces_sent`` of them were out (counted from
    the start of the text); ``cause`` is why. A retry sends only the rest."""

    def __init__(self, pieces_sent: int, cause: Exception) -> None:
        super().__init__(f"{pieces_sent} piece(s) sent, then {type(cause).__name__}")
        self.pieces_sent = pieces_sent
        self.cause = cause


def unwrap(error: Exception) -> tuple[Exception, int]:
    """Why a send failed, and how many pieces it sent first (0 when it was not in pieces)."""
    if isinstance(error, SendInterrupted):
        return error.cause, error.pieces_sent
    return error, 0


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
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Deliver now rather than at the next poll (after a message queued something)."""
        self._wake.set()

    def wake_threadsafe(self) -> None:
        """:meth:`wake` from any thread (once :meth:`run_forever` runs; else nothing)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(self.wake)

    def _prepare(
        self, session: Session | None, channel: str, payload: dict[str, Any], kind: str
    ) -> Outgoing:
        def ref(key: str | None) -> PlatformRef | None:
            found = outbox.find_ref(session, key, channel) if key and session else None
            return PlatformRef(found.chat_id, found.message_id) if found else None

        reply_to = payload.get("reply_to")
        thread = ref(payload.get("thread_key"))
        if thread is None and isinstance(reply_to, dict):
            thread = PlatformRef(str(reply_to["chat_id"]), str(reply_to["message_id"]))
        return Outgoing(
            to=str(payload.get("to", "staff")),
            text=str(payload.get("text", "")),
            buttons=payload.get("buttons") or [],
            thread=thread,
            edit=ref(payload.get("edit_key")),
            mention=bool(payload.get("mention")),
            kind=kind,
            private_to=payload.get("private_to"),
            response_url=payload.get("response_url"),
            visible=bool(payload.get("visible")),
            pieces_sent=int(payload.get("pieces_sent") or 0),
            subject=str(
                payload.get("ref_key") or payload.get("edit_key") or payload.get("thread_key") or ""
            ),
        )

    async def run_once(self) -> int:
        """Send what is due now; returns how many messages were sent. The store is used off
        the event loop (a worker thread), so a busy database never stalls the channels."""
        work = await asyncio.to_thread(self._claim)
        sent = 0
        for row_id, channel, kind, payload, attempts in work:
            # refs are resolved now, not at claim time: a card sent a moment ago is a thread
            message = await asyncio.to_thread(self._prepare_fresh, channel, payload, kind)
            try:
                landed = await self.senders[channel].send(message)
            except Exception as raised:
                cause, pieces = unwrap(raised)
                if isinstance(cause, Undeliverable):
                    log.error("outbox %d: refused by %s: %s", row_id, channel, cause.reason)
                    await asyncio.to_thread(self._fail, row_id, cause.reason)
                elif isinstance(cause, RetryLater):  # waiting, not failing: no attempt used
                    delay = timedelta(seconds=max(cause.retry_after, 0.5))
                    await asyncio.to_thread(
                        self._retry, row_id, delay, str(cause), pieces, counted=False
                    )
                else:  # a channel error must not stop delivery of the rest
                    delay = timedelta(seconds=min(2**attempts, 300))
                    await asyncio.to_thread(
                        self._retry, row_id, delay, type(cause).__name__, pieces
                    )
                continue
            await asyncio.to_thread(self._delivered, row_id, channel, payload, landed)
            sent += 1
        return sent

    def _claim(self) -> list[tuple[int, str, str, dict[str, Any], int]]:
        with self.sessions() as session, session.begin():
            rows = outbox.claim(
                session,
                channels=list(self.senders),
                now=self.clock(),
                limit=self.batch,
                lease=self.lease,
            )
            return [(row.id, row.channel, row.kind, row.payload, row.attempts) for row in rows]

    def _prepare_fresh(self, channel: str, payload: dict[str, Any], kind: str) -> Outgoing:
        with self.sessions() as session:
            return self._prepare(session, channel, payload, kind)

    def _delivered(
        self, row_id: int, channel: str, payload: dict[str, Any], landed: PlatformRef | None
    ) -> None:
        ref_key = payload.get("ref_key") or payload.get("edit_key")
        with self.sessions() as session, session.begin():
            without_waiting_for_disk(session)
            outbox.mark_sent(session, row_id, now=self.clock())
            if landed is not None and ref_key:
                outbox.remember_ref(session, ref_key, channel, landed.chat_id, landed.message_id)

    async def send_recorded(
        self, sender: Sender, channel: str, rows: Sequence[tuple[int, dict[str, Any]]]
    ) -> list[int]:
        """Send outbox rows written a moment ago (replies, whose rows wait for their lease to
        pass), in order, through ``sender``; the ids of those that were sent.

        Each is tried a few times in place, waiting out a short ``retry_after`` and backing
        off after network trouble. One that still fails is left to the delivery worker (due
        at once, or when the platform said), and so are those after it: one person's replies
        stay in order. One the platform refuses for good is marked failed. The caller marks
        the sent ones with :meth:`mark_sent` (several messages' rows at once).
        """
        sent: list[int] = []
        loop = asyncio.get_running_loop()
        for index, (row_id, payload) in enumerate(rows):
            if payload.get("thread_key") or payload.get("edit_key"):
                message = await asyncio.to_thread(self._prepare_fresh, channel, payload, "reply")
            else:
                message = self._prepare(None, channel, payload, "reply")
            outcome, pieces = await _send_in_place(sender, message)
            if outcome is None:
                sent.append(row_id)
            elif isinstance(outcome, Undeliverable):
                log.warning("a reply on %s was refused: %s", channel, outcome.reason)
                await loop.run_in_executor(None, self._fail, row_id, outcome.reason)
            else:
                delay, reason = outcome
                rest = [r for r, _ in rows[index:]]
                await loop.run_in_executor(None, self._release, rest, delay, reason, pieces)
                break
        return sent

    def mark_sent(self, row_ids: Sequence[int]) -> None:
        """Record that rows ``row_ids`` were sent (blocking: call it off the event loop)."""
        if row_ids:
            with self.sessions() as session, session.begin():
                without_waiting_for_disk(session)
                outbox.mark_all_sent(session, row_ids, now=self.clock())

    def _fail(self, row_id: int, reason: str) -> None:
        with self.sessions() as session, session.begin():
            outbox.mark_failed(session, row_id, now=self.clock(), error=reason)

    def _release(
        self, row_ids: Sequence[int], delay: timedelta, reason: str, pieces_sent: int = 0
    ) -> None:
        """Leave rows that could not be sent now to the delivery worker, due after ``delay``
        (the first of them with ``pieces_sent`` of its pieces out already)."""
        with self.sessions() as session, session.begin():
            outbox.make_due(session, row_ids, at=self.clock() + delay, error=reason)
            if pieces_sent:
                outbox.note_pieces_sent(session, row_ids[0], pieces_sent)
        log.warning("%d repl(ies) left to the outbox: %s", len(row_ids), reason)
        self.wake_threadsafe()

    def _retry(
        self,
        row_id: int,
        delay: timedelta,
        reason: str,
        pieces_sent: int = 0,
        *,
        counted: bool = True,
    ) -> None:
        """Try row ``row_id`` again after ``delay``; ``reason`` names the failure's kind only.
        ``pieces_sent``: how many pieces of a long text are out (the retry sends the rest);
        a wait the platform asked for is not ``counted`` as a failed attempt."""
        with self.sessions() as session, session.begin():
            now = self.clock()
            retried = outbox.mark_retry(
                session,
                row_id,
                now=now,
                delay=delay,
                error=reason,
                pieces_sent=pieces_sent,
                counted=counted,
            )
        if retried:
            log.warning("outbox %d: %s; retrying in %.0fs", row_id, reason, delay.total_seconds())
        else:
            log.error("outbox %d: giving up after repeated failures: %s", row_id, reason)

    async def run_forever(self, poll_seconds: float = 2.0) -> None:
        """Deliver until cancelled: as soon as a commit in this process queues something (or
        :meth:`wake` is called), and every ``poll_seconds`` for other processes' rows."""
        self._loop = asyncio.get_running_loop()

        with self.sessions() as session:
            engine = session.get_bind()
        assert isinstance(engine, Engine), "the session factory is bound to an engine"
        stop_listening = outbox.on_commit(engine, self.wake_threadsafe)
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


INLINE_ATTEMPTS = 4  # sending a reply in place before leaving it to the delivery worker
INLINE_BACKOFF_SECONDS = 0.25  # after a network error: 0.25, 0.5, 1 s
MAX_INLINE_WAIT = 10.0  # a longer retry_after is waited out by the delivery worker


async def _send_in_place(
    sender: Sender, message: Outgoing
) -> tuple[Undeliverable | tuple[timedelta, str] | None, int]:
    """Send ``message``, trying a few times: None once sent, the refusal, or how long to
    wait before the delivery worker tries again (and why); and the pieces sent so far."""
    for attempt in range(INLINE_ATTEMPTS):
        last = attempt == INLINE_ATTEMPTS - 1
        try:
            await sender.send(message)
            return None, 0
        except Exception as raised:
            cause, pieces = unwrap(raised)
            if pieces:
                message = dataclasses.replace(message, pieces_sent=pieces)
            if isinstance(cause, Undeliverable):
                return cause, message.pieces_sent
            if isinstance(cause, RetryLater):
                if cause.retry_after > MAX_INLINE_WAIT or last:
                    wait = timedelta(seconds=max(cause.retry_after, 0.5))
                    return (wait, str(cause)), message.pieces_sent
                await asyncio.sleep(cause.retry_after)
            elif last:  # network trouble, a server error
                return (timedelta(0), type(cause).__name__), message.pieces_sent
            else:
                await asyncio.sleep(INLINE_BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")
