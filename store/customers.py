"""Contacts: the chat identities customers write from, and what the bot remembers of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.models import Contact, Ticket
from store.upsert import insert_ignoring


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

    Handling a burst of messages together costs a few statements instead of two per message.
    New contacts are inserted with ``ON CONFLICT DO NOTHING`` and read back: when another
    transaction (another replica, another batch) creates the same contact at the same moment,
    this one waits for it and takes its row instead of failing on the unique key and rolling
    back the whole batch. They are inserted in key order, so two batches that both create A
    and B cannot deadlock on each other.
    """
    wanted = {(a.channel, a.external_id): a for a in authors}
    contacts = _known(session, wanted)
    new = sorted(key for key in wanted if key not in contacts)
    if new:
        rows = [
            {
                "channel": channel,
                "external_id": external_id,
                "chat_id": wanted[(channel, external_id)].chat_id,
                "display_name": wanted[(channel, external_id)].display_name,
                "created_at": now,
                "last_seen_at": now,
                "language_explicit": False,
                "unanswered_count": 0,
            }
            for channel, external_id in new
        ]
        session.execute(insert_ignoring(session, Contact, ["channel", "external_id"]), rows)
        contacts.update(_known(session, new))
    for key, author in wanted.items():
        contact = contacts[key]
        contact.last_seen_at = now
        contact.chat_id = author.chat_id
        if author.display_name:
            contact.display_name = author.display_name
    return contacts


def _known(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Contact]:
    """The stored contacts among ``keys`` (channel, external_id): one query per channel."""
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in keys:
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], Contact] = {}
    for channel, ids in by_channel.items():
        for contact in session.scalars(
            select(Contact).where(Contact.channel == channel, Contact.external_id.in_(ids))
        ):
            found[(channel, contact.external_id)] = contact
    return found


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
