"""Tickets: a contact's case handed to people, at most one open at a time.

The database holds every replica to "one open ticket per contact" with a partial unique index
(``uq_tickets_one_open``, migration 0004); :func:`open_new` inserts against it with ``ON
CONFLICT DO NOTHING``, so a transaction that loses the race to open a contact's ticket learns it
without failing and can join the ticket that won.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Boolean, literal_column, select
from sqlalchemy.orm import Session

from store.models import OPEN_TICKET, Ticket
from store.upsert import insert_ignoring

# the predicate of uq_tickets_one_open, rendered verbatim, as the boolean expression it is
_OPEN_TICKET = literal_column(OPEN_TICKET, Boolean())
_NUMBERS = "crossdesk.ticket_numbers"  # the session.info key of a transaction's TicketNumbers


@dataclass
class TicketNumbers:
    """Ticket numbers taken by transactions that were rolled back, handed to the next.

    Customers and staff read a ticket's number, so numbers should not skip. On PostgreSQL a
    number comes from a sequence, and a sequence never gives a value back: a batch rolled
    back to fetch translations outside the transaction (handlers/router.py) and handled
    again would number its first ticket #2. Values a rolled-back transaction took are still
    nobody else's, so the transaction that repeats the work uses them first. (SQLite's ids
    roll back by themselves; there a value may go to another writer meanwhile, so this is
    for PostgreSQL only.)
    """

    taken: list[int] = field(default_factory=list)  # by the transaction in progress
    reserved: list[int] = field(default_factory=list)  # to use before new ones

    def attach(self, session: Session) -> None:
        """Let :func:`open_new` in ``session``'s transaction number from here."""
        session.info[_NUMBERS] = self

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Around one transaction: if it raises (it was rolled back), the numbers it took are
        free for the next; if it commits, they are used."""
        try:
            yield
        except BaseException:
            self.reserved = sorted(self.taken + self.reserved)
            raise
        finally:
            self.taken = []


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
    numbers: TicketNumbers | None = session.info.get(_NUMBERS)
    values = {
        "contact_id": contact_id,
        "language": language,
        "reason": reason,
        "priority": priority,
        "state": "open",
        "order_id": order_id,
        "created_at": now,
    }
    if numbers is not None and numbers.reserved:
        values["id"] = numbers.reserved[0]
    opened = session.scalar(
        insert_ignoring(session, Ticket, ["contact_id"], where=_OPEN_TICKET)
        .values(**values)
        .returning(Ticket.id)
    )
    if opened is None:
        return None
    if numbers is not None:
        if numbers.reserved and numbers.reserved[0] == opened:
            numbers.reserved.pop(0)
        numbers.taken.append(opened)
    return session.get(Ticket, opened)
