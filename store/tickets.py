"""Tickets: a contact's case handed to people, at most one open at a time.

The database holds every replica to "one open ticket per contact" with a partial unique index
(``uq_tickets_one_open``, migration 0004); :func:`open_new` inserts against it with ``ON
CONFLICT DO NOTHING``, so a transaction that loses the race to open a contact's ticket learns it
without failing and can join the ticket that won.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, literal_column, select
from sqlalchemy.orm import Session

from store.models import OPEN_TICKET, Ticket
from store.upsert import insert_ignoring

# the predicate of uq_tickets_one_open, rendered verbatim, as the boolean expression it is
_OPEN_TICKET = literal_column(OPEN_TICKET, Boolean())


def open_ticket(session: Session, contact_id: int) -> Ticket | None:
    """The contact's open or claimed ticket, if any."""
    return session.scalar(
        select(Ticket)
        .where(Ticket.contact_id == contact_id, Ticket.state.in_(("open", "claimed")))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def open_new(
    session: Session,
    contact_id: int,
    *,
    language: str,
    reason: str,
    priority: int,
    order_id: str | None,
    now: datetime,
) -> Ticket | None:
    """Open a ticket for the contact; None if the contact has one open already.

    When another transaction opens the contact's ticket at the same moment, this insert
    waits for it and, once it has committed, adds nothing: None, and :func:`open_ticket` now
    finds the ticket that won.
    """
    opened = session.scalar(
        insert_ignoring(session, Ticket, ["contact_id"], where=_OPEN_TICKET)
        .values(
            contact_id=contact_id,
            language=language,
            reason=reason,
            priority=priority,
            state="open",
            order_id=order_id,
            created_at=now,
        )
        .returning(Ticket.id)
    )
    return None if opened is None else session.get(Ticket, opened)
