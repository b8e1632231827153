"""The outbox: messages for other people, written with the state change that caused them.

Rows are claimed with a lease (``available_at`` moves forward) so that a worker that dies while
sending leaves the row to be sent again after the lease, and several replicas never claim the
same row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serves one process).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, event, insert, select, update
from sqlalchemy.orm import Session

from store.models import MessageRef, OutboxMessage
from store.upsert import insert_ignoring

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
_ENQUEUED = "crossdesk.outbox_enqueued"
_listeners: dict[Engine, list[Callable[[], None]]] = {}


def on_commit(engine: Engine, listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` after each commit on ``engine`` that added outbox rows.

    It runs in the committing thread, right after the commit: a delivery worker in this
    process sends at once instead of at its next poll. Returns the call that stops it.
    """
    _listeners.setdefault(engine, []).append(listener)

    def stop() -> None:
        listeners = _listeners.get(engine, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            _listeners.pop(engine, None)

    return stop


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        bind = session.get_bind()
        engine = bind if isinstance(bind, Engine) else bind.engine
        for listener in list(_listeners.get(engine, ())):
            try:
                listener()
            except Exception:  # the commit has happened: a listener must not undo the caller
                log.exception("an outbox commit listener failed")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


def enqueue(
    session: Session,
    *,
    channel: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    dedupe_key: str | None = None,
    available_at: datetime | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox in the caller's transaction.

    With ``dedupe_key``, a message whose key is already queued is not added again (returns
    None): the key must name what is said (an alert group's fingerprints and steps, a ticket's
    card), so a duplicate key is the same message. The row is written with ``INSERT ... ON
    CONFLICT DO NOTHING``: a concurrent transaction queueing the same key waits for this one
    and then adds nothing, instead of failing on the unique key and rolling back.
    ``available_at`` (default ``now``) holds the row back from the delivery worker: a reply
    its channel sends itself right after the commit is delivered by the worker only if that
    send never happens (a crash) or fails.
    """
    values = {
        "channel": channel,
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "created_at": now,
        "available_at": available_at or now,
        "attempts": 0,
    }
    if dedupe_key is None:
        row = OutboxMessage(**values)
        session.add(row)
        session.flush()
    else:
        statement = insert_ignoring(session, OutboxMessage, ["dedupe_key"]).values(**values)
        added = session.scalars(statement.returning(OutboxMessage)).first()
        if added is None:
            return None
        row = added
    session.info[_ENQUEUED] = True
    return row


def enqueue_many(
    session: Session,
    *,
    channel: str,
    kind: str,
    payloads: Sequence[dict[str, Any]],
    now: datetime,
    available_at: datetime | None = None,
) -> list[int]:
    """Add ``payloads`` to the outbox (no dedupe key) in one statement; their ids, in order.

    A router batch records up to a few hundred replies: one INSERT ... RETURNING for all of
    them instead of one flush of the ORM per row."""
    if not payloads:
        return []
    table = cast(Table, OutboxMessage.__table__)
    rows = [
        {
            "channel": channel,
            "kind": kind,
            "payload": payload,
            "dedupe_key": None,
            "created_at": now,
            "available_at": available_at or now,
            "attempts": 0,
        }
        for payload in payloads
    ]
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = [int(i) for i in session.scalars(statement, rows)]
    session.info[_ENQUEUED] = True
    return ids


def is_queued(session: Session, dedupe_key: str) -> bool:
    """Whether a message with ``dedupe_key`` is in the outbox (sent or not)."""
    found = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    return found is not None


def claim(
    session: Session,
    *,
    channels: Sequence[str],
    now: datetime,
    limit: int = 50,
    lease: timedelta = timedelta(seconds=60),
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for ``channels``, oldest first, for one lease."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.available_at <= now,
            OutboxMessage.channel.in_(list(channels)),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.available_at = now + lease
        row.attempts += 1
    session.flush()
    return rows


def mark_sent(session: Session, message_id: int, *, now: datetime) -> None:
    """Record that a message reached its channel."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(sent_at=now, last_error=None)
    )


def mark_all_sent(session: Session, message_ids: Sequence[int], *, now: datetime) -> None:
    """Record that the messages ``message_ids`` reached their channel."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(message_ids)))
        .values(sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )


def make_due(session: Session, message_ids: Sequence[int], *, at: datetime, error: str) -> None:
    """Hand messages a channel could not send itself to the delivery worker, due ``at``."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.sent_at.is_(None))
        .values(available_at=at, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


def mark_failed(session: Session, message_id: int, *, now: datetime, error: str) -> None:
    """Give a message up: its channel refused it for good."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(failed_at=now, last_error=error[:500])
    )


def note_pieces_sent(session: Session, message_id: int, pieces_sent: int) -> None:
    """Record that ``pieces_sent`` pieces of message ``message_id``'s text are out."""
    row = session.get(OutboxMessage, message_id)
    if row is not None:
        row.payload = {**row.payload, "pieces_sent": pieces_sent}


def mark_retry(
    session: Session,
    message_id: int,
    *,
    now: datetime,
    delay: timedelta,
    error: str,
    pieces_sent: int = 0,
    counted: bool = True,
) -> bool:
    """Schedule another attempt after ``delay``; give up after MAX_ATTEMPTS. True if retried.

    A wait the platform asked for (flood control) is not ``counted``: the claim's attempt is
    given back, so hours of 429s never use a message's attempts up. ``pieces_sent`` records
    how much of a text sent in pieces is out, so the next attempt sends only the rest.
    """
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return False
    row.last_error = error[:500]
    if pieces_sent:
        row.payload = {**row.payload, "pieces_sent": pieces_sent}
    if not counted:
        row.attempts = max(row.attempts - 1, 0)
    if row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
        return False
    row.available_at = now + delay
    return True


def pending_count(session: Session) -> int:
    """How many messages still wait to be sent."""
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        )
        or 0
    )


def remember_ref(session: Session, key: str, channel: str, chat_id: str, message_id: str) -> None:
    """Remember where a message keyed ``key`` landed on ``channel`` (for threads and edits).

    Inserted with ``ON CONFLICT DO NOTHING`` and then set: two deliverers recording the same
    key (a card and its edit, sent by two replicas) never fail on the key; the later wins.
    """
    session.execute(
        insert_ignoring(session, MessageRef, ["key", "channel"]).values(
            key=key, channel=channel, chat_id=chat_id, message_id=message_id
        )
    )
    session.execute(
        update(MessageRef)
        .where(MessageRef.key == key, MessageRef.channel == channel)
        .values(chat_id=chat_id, message_id=message_id)
    )


def find_ref(session: Session, key: str, channel: str) -> MessageRef | None:
    """Where the message keyed ``key`` landed on ``channel``, if it was sent."""
    return session.get(MessageRef, (key, channel))


def find_key_by_ref(session: Session, channel: str, chat_id: str, message_id: str) -> str | None:
    """The key of the message sent to (channel, chat_id, message_id), e.g. a staff thread."""
    return session.scalar(
        select(MessageRef.key).where(
            MessageRef.channel == channel,
            MessageRef.chat_id == chat_id,
            MessageRef.message_id == message_id,
        )
    )
