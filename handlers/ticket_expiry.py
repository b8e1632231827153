"""Tickets that close themselves after a quiet period (``[handoff] auto_close_hours``).

A ticket nobody resolves would keep its customer in the handoff for ever: every message "added
to your ticket", or relayed to someone who has moved on. Once no one (customer, staff or bot)
has written in a ticket for the configured hours, the sweep closes it as Resolve would: the
customer is told, handed back to the bot and asked for a rating, and the staff card shows it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import handoff
from handlers.services import Services
from store.models import Contact, Ticket, TicketMessage


def close_quiet_tickets(services: Services, session: Session) -> int:
    """Close every open or claimed ticket quiet for ``auto_close_hours``; returns how many."""
    now = services.clock()
    hours = services.handoff.auto_close_hours
    cutoff = now - timedelta(hours=hours)
    last_line = (
        select(func.max(TicketMessage.created_at))
        .where(TicketMessage.ticket_id == Ticket.id, TicketMessage.before_handoff.is_(False))
        .correlate(Ticket)
        .scalar_subquery()
    )
    quiet = session.scalars(
        select(Ticket)
        .where(
            Ticket.state.in_(("open", "claimed")),
            Ticket.created_at < cutoff,
            func.coalesce(last_line, Ticket.created_at) < cutoff,
        )
        .order_by(Ticket.id)
        .with_for_update(skip_locked=True)
    ).all()
    staff_language = services.support.staff_language
    for ticket in quiet:
        contact = session.get(Contact, ticket.contact_id)
        assert contact is not None
        ticket.state, ticket.resolved_at = "resolved", now
        handoff.ask_rating(services, session, ticket, contact, "handoff.auto_closed")
        services.notify_staff(
            session,
            "ticket.closed",
            {
                "text": services.texts.get(
                    "staff.ticket.auto_closed", staff_language, ticket=ticket.id, hours=f"{hours:g}"
                ),
                "thread_key": f"ticket:{ticket.id}",
            },
            dedupe_key=f"ticket-closed:{ticket.id}",
        )
        handoff.update_card(services, session, ticket, contact)
    return len(quiet)
