"""The conversation that led to a ticket: which lines of the bot's conversation log it carries.

A customer who taps "Talk to a person" has usually just told the bot what is wrong; staff who
see only "the customer wants a person" must ask again. When a ticket opens, the last lines of
the conversation with the bot (what the customer wrote and what the bot answered, since their
previous ticket closed and within a day) join its transcript (``handlers/escalation.py``),
marked ``before_handoff`` and translated for staff like every other line.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import ConversationEntry, Ticket

CONTEXT_LINES = 6  # lines of the conversation before the handoff, customer and bot together
CONTEXT_WINDOW = timedelta(hours=24)  # older lines belong to another conversation
LINE_CHARS = 300  # a long FAQ answer is shortened: staff need its gist, not all of it
VERIFICATION = "[verification]"  # the log's stand-in for an order proof: nothing to show


def shortened(text: str) -> str:
    """``text`` cut to LINE_CHARS characters, with an ellipsis when it was longer."""
    return text if len(text) <= LINE_CHARS else text[: LINE_CHARS - 1].rstrip() + "…"


def before_handoff(session: Session, ticket: Ticket, now: datetime) -> list[ConversationEntry]:
    """The last lines of the contact's conversation before ``ticket`` opened, oldest first.

    Only lines since the contact's previous ticket was resolved count: what led to that one is
    already in it.
    """
    since = now - CONTEXT_WINDOW
    previous = session.scalar(
        select(func.max(Ticket.resolved_at)).where(
            Ticket.contact_id == ticket.contact_id, Ticket.id != ticket.id
        )
    )
    if previous is not None and previous > since:
        since = previous
    entries = session.scalars(
        select(ConversationEntry)
        .where(
            ConversationEntry.contact_id == ticket.contact_id,
            ConversationEntry.created_at >= since,
            ConversationEntry.text != VERIFICATION,
        )
        .order_by(ConversationEntry.id.desc())
        .limit(CONTEXT_LINES)
    ).all()
    return list(reversed(entries))
