"""Keyed rows written by two transactions at once end in one clean row, on SQLite and
PostgreSQL: a new contact, a cached translation, an outbox key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from store import outbox
from store.customers import Author, contacts_for
from store.db import bind_session, create_store_engine, session_factory, upgrade
from store.models import Contact, OutboxMessage, TranslationCacheEntry
from store.translation_cache import StoreTranslationCache
from tests.store.racing import race

NOW = datetime(2026, 3, 10, 10, 0)


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_store_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


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
