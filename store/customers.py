"""Contacts: the chat identities customers write from, and what the bot remembers of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.models import Contact, Ticket


@dataclass(frozen=True)
class Author:
    """Who wrote a message, as a channel names them."""

    channel: str
    external_id: str
    chat_id: str
    display_name: str | None = None


def contacts_for(
    session: Session, authors: Iterable[Author], now: datetime
) -> dict[tuple[str, str], Contact]:
    """The contacts of several authors at once, keyed by (channel, external_id), created on
    first sight: one query for those already known, one INSERT for the new ones, all marked
    seen now.

    Handling a burst of messages together costs two statements instead of two per message.
    """
    wanted = {(a.channel, a.external_id): a for a in authors}
    contacts: dict[tuple[str, str], Contact] = {}
    for channel in {channel for channel, _ in wanted}:
        ids = [external_id for c, external_id in wanted if c == channel]
        for known in session.scalars(
            select(Contact).where(Contact.channel == channel, Contact.external_id.in_(ids))
        ):
            contacts[(channel, known.external_id)] = known
    new: list[Contact] = []
    for key, author in wanted.items():
        contact = contacts.get(key)
        if contact is None:
            contact = contacts[key] = Contact(
                channel=author.channel,
                external_id=author.external_id,
                chat_id=author.chat_id,
                display_name=author.display_name,
                created_at=now,
                last_seen_at=now,
                language_explicit=False,
                unanswered_count=0,
            )
            new.append(contact)
        else:
            contact.last_seen_at = now
            contact.chat_id = author.chat_id
            if author.display_name:
                contact.display_name = author.display_name
    if new:
        session.add_all(new)
        session.flush(new)  # the ids, for tickets and the conversation log
    return contacts


# A ticket that still concerns its customer: open, being handled, or waiting for their rating.
TICKET_ACTIVITY = or_(Ticket.awaiting_satisfaction.is_(True), Ticket.state.in_(("open", "claimed")))


def with_ticket_activity(session: Session, contacts: Iterable[Contact]) -> set[int]:
    """Ids of the contacts with an open ticket or a ticket awaiting their rating.

    Only their messages need the handoff's closer look; one query answers it for a batch.
    """
    ids = [c.id for c in contacts]
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Ticket.contact_id).where(Ticket.contact_id.in_(ids), TICKET_ACTIVITY).distinct()
        )
    )


def remember_language(contact: Contact, language: str, *, explicit: bool = False) -> None:
    """Remember the language to answer ``contact`` in; an explicit choice is kept until changed."""
    if explicit:
        contact.language, contact.language_explicit = language, True
    elif not contact.language_explicit:
        contact.language = language
