"""Keyed rows written by two transactions at once end in one clean row, on SQLite and
PostgreSQL: a new contact, a cached translation, an outbox key, a contact's open ticket."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.app import App
from handlers import escalation
from store import outbox
from store.customers import Author, contacts_for
from store.db import bind_session, create_store_engine, session_factory, upgrade
from store.models import Contact, OutboxMessage, Ticket, TicketMessage, TranslationCacheEntry
from store.translation_cache import StoreTranslationCache
from tests.store.racing import race

NOW = datetime(2026, 3, 10, 10, 0)


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_two_first_messages_of_one_person_make_one_contact(sessions) -> None:  # type: ignore[no-untyped-def]
    def first_message(name: str):  # type: ignore[no-untyped-def]
        def write(session: Session) -> tuple[int, str | None]:
            authors = [Author("telegram", "77", "77", name), Author("telegram", f"{name}", "1")]
            contact = contacts_for(session, authors, NOW)[("telegram", "77")]
            return contact.id, contact.display_name

        return write

    (first_id, _), (second_id, name) = race(
        sessions, "contacts", first_message("Ana"), first_message("Ana M.")
    )
    assert first_id == second_id and name == "Ana M."  # the same row, updated by the second
    assert count(sessions, Contact) == 3  # 77 once, plus the two others


def test_one_text_translated_twice_at_once_is_cached_once(sessions) -> None:  # type: ignore[no-untyped-def]
    cache = StoreTranslationCache(sessions, clock=lambda: NOW)

    def put(text: str):  # type: ignore[no-untyped-def]
        def write(session: Session) -> str | None:
            with bind_session(session):
                cache.put("libre", "de", "en", "h1", text)
                return cache.get("libre", "de", "en", "h1")

        return write

    first, second = race(sessions, "translation_cache", put("Where is it?"), put("Where is it?"))
    assert first == second == "Where is it?"
    cache.put("libre", "de", "en", "h1", "again, outside a unit of work")  # no error either
    assert count(sessions, TranslationCacheEntry) == 1


def test_one_outbox_key_queued_twice_at_once_is_one_row(sessions) -> None:  # type: ignore[no-untyped-def]
    def queue(session: Session) -> bool:
        row = outbox.enqueue(session, channel="console", kind="k", payload={}, now=NOW,
                             dedupe_key="ticket-card:1:console")  # fmt: skip
        return row is not None

    assert race(sessions, "outbox", queue, queue) == (True, False)
    assert count(sessions, OutboxMessage) == 1


@pytest.fixture
def contact_id(app: App) -> int:
    with app.sessions() as session, session.begin():
        return contacts_for(session, [Author("console", "c9", "c9")], NOW)[("console", "c9")].id


def test_two_escalations_at_once_share_one_open_ticket(app: App, contact_id: int) -> None:
    def escalate(text: str):  # type: ignore[no-untyped-def]
        def write(session: Session) -> tuple[int, bool]:
            contact = session.get(Contact, contact_id)
            assert contact is not None
            ticket, created = escalation.escalate(
                app.services, session, contact, reason="human", text=text, language="en"
            )
            return ticket.id, created

        return write

    (first, opened), (second, also_opened) = race(
        app.sessions, "tickets", escalate("I want a person"), escalate("Hello??")
    )
    assert first == second and (opened, also_opened) == (True, False)
    with app.sessions() as session:
        tickets = session.scalars(select(Ticket)).all()
        assert [(t.id, t.state) for t in tickets] == [(first, "open")]
        lines = session.scalars(select(TicketMessage.text).order_by(TicketMessage.id)).all()
        assert lines == ["I want a person", "Hello??"]  # the second joined the first
        kinds = session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
        assert kinds == ["ticket.new", "ticket.message"]  # one card, then its thread


def test_the_database_refuses_a_second_open_ticket(app: App, contact_id: int) -> None:
    from sqlalchemy.exc import IntegrityError

    def ticket(state: str) -> Ticket:
        return Ticket(contact_id=contact_id, language="en", reason="human", state=state,
                      created_at=NOW)  # fmt: skip

    with app.sessions() as session, session.begin():
        session.add_all([ticket("resolved"), ticket("resolved"), ticket("claimed")])
    with pytest.raises(IntegrityError), app.sessions() as session, session.begin():
        session.add(ticket("open"))


def test_upgrade_keeps_the_newest_of_several_open_tickets(db_url: str) -> None:
    engine = create_store_engine(db_url)
    upgrade(engine, "0003_alert_steps")
    contact = {"channel": "console", "chat_id": "x", "created_at": NOW, "last_seen_at": NOW,
               "language_explicit": False, "unanswered_count": 0}  # fmt: skip
    ticket = {"language": "en", "reason": "human", "priority": 2, "created_at": NOW,
              "awaiting_satisfaction": False}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(Contact.__table__.insert(), [
            {"id": 1, "external_id": "a", **contact}, {"id": 2, "external_id": "b", **contact}
        ])  # fmt: skip
        conn.execute(Ticket.__table__.insert(), [
            {"id": 1, "contact_id": 1, "state": "open", **ticket},
            {"id": 2, "contact_id": 1, "state": "claimed", **ticket},
            {"id": 3, "contact_id": 1, "state": "resolved", **ticket},
            {"id": 4, "contact_id": 2, "state": "open", **ticket},
        ])  # fmt: skip
    upgrade(engine)
    with session_factory(engine)() as session:
        states = {
            t.id: (t.state, t.resolved_at is not None) for t in session.scalars(select(Ticket))
        }
    assert states == {1: ("resolved", True), 2: ("claimed", False), 3: ("resolved", False),
                      4: ("open", False)}  # fmt: skip
    engine.dispose()
