"""The inbox: deliveries from the platforms, stored before they are acknowledged.

A channel calls :func:`accept` with what arrived, keyed by the platform's own delivery id, and
only then tells the platform it was received; a key already stored is ignored, so a
redelivery (Telegram after a timeout, Slack's retries, another replica behind the load
balancer) adds nothing. Handling reads :func:`due` rows and, inside the transaction that does
the work, :func:`take` marks them done: if that transaction commits, the work and the mark
land together; if the process dies first, the rows are still pending and the next look, here
or on another replica, handles them.

One person's messages are handled in arrival order: a row is due only when no older row of
the same ``user_key`` is still pending, and :func:`take` re-checks that under the rows' locks
(PostgreSQL), so two replicas never handle one person's second message before the first.

And answered in that order: :func:`take` marks a row *sending* for a lease, and it holds back
its person's next row until its replies are out (:func:`finish`, after the send) or the lease
ends (the process died: the outbox sends those replies when their own lease ends). Otherwise a
second replica could answer the next message while the first was still sending the replies
to the one before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from store.models import InboxItem
from store.upsert import insert_ignoring

PENDING, SENDING, DONE, FAILED = "pending", "sending", "done", "failed"
KEY_CHARS = 200
USER_KEY_CHARS = 130
ACCEPT_CHUNK = 200  # rows per INSERT: 9 columns each, well within SQLite's variable limit


@dataclass(frozen=True)
class Arrival:
    """One delivery as a channel received it."""

    channel: str
    key: str  # the platform's id of the delivery: unique per channel
    user_key: str  # whose message it is: one person's are handled in order
    message: dict[str, Any]  # the IncomingMessage as a record
    route: dict[str, Any] = field(default_factory=dict)  # the channel's notes on answering


def accept(session: Session, arrivals: Sequence[Arrival], now: datetime) -> list[bool]:
    """Store ``arrivals`` (in order) in the caller's transaction; True for each one that is
    new, False for a key the inbox already has (a redelivery)."""
    if not arrivals:
        return []
    rows = [
        {
            "channel": a.channel,
            "key": a.key[:KEY_CHARS],
            "user_key": a.user_key[:USER_KEY_CHARS],
            "message": a.message,
            "route": a.route,
            "state": PENDING,
            "accepted_at": now,
            "available_at": now,
            "attempts": 0,
        }
        for a in arrivals
    ]
    # one multi-row INSERT per chunk; RETURNING names the keys that were new, and of two
    # arrivals with one key in the same call only the first is new
    table = InboxItem.__table__
    added: set[tuple[str, str]] = set()
    for first in range(0, len(rows), ACCEPT_CHUNK):
        statement = (
            insert_ignoring(session, table, ["channel", "key"])
            .values(rows[first : first + ACCEPT_CHUNK])
            .returning(table.c.channel, table.c.key)
        )
        added.update((str(c), str(k)) for c, k in session.execute(statement))
    new = []
    for row in rows:
        key = (row["channel"], row["key"])
        new.append(key in added)
        added.discard(key)
    return new


def _holds_back(older: Any, row: Any, now: datetime) -> ColumnElement[bool]:
    """Whether ``older`` is a row of the same person as ``row``, before it, that keeps it
    waiting: still pending, or being answered within its lease."""
    return and_(
        older.user_key == row.user_key,
        older.id < row.id,
        or_(
            older.state == PENDING,
            and_(older.state == SENDING, older.available_at > now),
        ),
    )


def due(
    session: Session,
    *,
    channel: str,
    now: datetime,
    limit: int,
    busy_users: Collection[str] = (),
) -> list[InboxItem]:
    """Pending rows of ``channel`` that may be handled now, oldest first: each person's
    oldest pending row, if it is available (not backing off) and its person is not among
    ``busy_users`` (whose messages this process is handling already)."""
    older = aliased(InboxItem)
    query = (
        select(InboxItem)
        .where(
            InboxItem.channel == channel,
            InboxItem.state == PENDING,
            InboxItem.available_at <= now,
            ~exists().where(_holds_back(older, InboxItem, now)),
        )
        .order_by(InboxItem.id)
        .limit(limit + len(busy_users))
    )
    rows = [row for row in session.scalars(query) if row.user_key not in busy_users]
    session.expunge_all()  # read only: the rows are taken in the handling transaction
    return rows[:limit]


def take(session: Session, ids: Sequence[int], now: datetime, lease: timedelta) -> set[int]:
    """Mark the rows ``ids`` sending (for ``lease``) in the caller's (handling) transaction,
    if they are still pending and nothing of their person's holds them back; returns the ids
    taken. The caller passes each to :func:`finish` once its replies are out.

    On PostgreSQL the update locks each row: a replica taking the same row waits for this
    transaction, then finds it done and takes nothing. A row left out is handled by
    someone else already (or waits for an older one): the caller must not handle it.
    """
    if not ids:
        return set()
    older = aliased(InboxItem)
    statement = (
        update(InboxItem)
        .where(
            InboxItem.id.in_(list(ids)),
            InboxItem.state == PENDING,
            ~exists().where(_holds_back(older, InboxItem, now)),
        )
        .values(state=SENDING, done_at=now, available_at=now + lease)
        .returning(InboxItem.id)
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(statement))


def finish(session: Session, ids: Sequence[int]) -> None:
    """Mark the sending rows ``ids`` done: their replies are out (or left to the outbox),
    and their person's next message may be answered."""
    if ids:
        session.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(list(ids)), InboxItem.state == SENDING)
            .values(state=DONE)
            .execution_options(synchronize_session=False)
        )


def finish_abandoned(session: Session, now: datetime) -> int:
    """Mark done the rows whose sending lease ended (their process died while sending; the
    outbox delivers their replies): they hold nobody back already, this tidies the counts."""
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.state == SENDING, InboxItem.available_at <= now)
        .values(state=DONE)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def retry_later(
    session: Session, item_id: int, *, now: datetime, delay: timedelta, give_up_after: int
) -> bool:
    """Count a failed attempt at row ``item_id`` and make it due again after ``delay``;
    after ``give_up_after`` attempts mark it failed instead. True if it will be retried."""
    row = session.get(InboxItem, item_id)
    if row is None or row.state != PENDING:
        return False
    row.attempts += 1
    if row.attempts >= give_up_after:
        row.state, row.done_at = FAILED, now
        return False
    row.available_at = now + delay
    return True


def prune(session: Session, *, before: datetime) -> int:
    """Delete rows handled (or given up) before ``before``; how many were deleted. Their keys
    are forgotten, so keep them longer than any platform redelivers."""
    result = session.execute(
        delete(InboxItem)
        .where(InboxItem.state != PENDING, InboxItem.done_at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def counts(session: Session) -> dict[str, int]:
    """How many rows are in each state (for status output and tests)."""
    rows = session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))
    return {state: int(n) for state, n in rows}
