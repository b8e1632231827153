"""Contacts: the chat identities customers write from, and what the bot remembers of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Contact


def get_or_create_contact(
    session: Session,
    *,
    channel: str,
    external_id: str,
    chat_id: str,
    display_name: str | None,
    now: datetime,
) -> Contact:
    """The contact for (channel, external_id), created on first sight; marks it seen now."""
    contact = session.scalar(
        select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
    )
    if contact is None:
        contact = Contact(
            channel=channel,
            external_id=external_id,
            chat_id=chat_id,
            display_name=display_name,
            created_at=now,
            last_seen_at=now,
            language_explicit=False,
            unanswered_count=0,
        )
        session.add(contact)
        session.flush()
    else:
        contact.last_seen_at = now
        contact.chat_id = chat_id
        if display_name:
            contact.display_name = display_name
    return contact


def remember_language(contact: Contact, language: str, *, explicit: bool = False) -> None:
    """Remember the language to answer ``contact`` in; an explicit choice is kept until changed."""
    if explicit:
        contact.language, contact.language_explicit = language, True
    elif not contact.language_explicit:
        contact.language = language
