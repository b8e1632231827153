"""A translation the cache lacks is fetched while no transaction is open: decide, call, then
write. The router handles the batch with the translator deferring, rolls back when it noted
translations to fetch, fetches them, and handles the batch again from the cache, so a slow
translation provider never holds SQLite's write lock (which every other customer, the inbox
and an import wait for) nor PostgreSQL's row locks.

The fake LibreTranslate server, while it is being asked, tries to take SQLite's write lock
from another connection (it must get it at once), or asks PostgreSQL whether any other
connection is inside a transaction (none may be). On PostgreSQL the ticket keeps number 1: the
rolled-back pass hands the number its sequence gave on to the pass that commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, select, text

from bot.app import App, Knowledge, build_app
from bot.config import Settings
from store.clock import ManualClock
from store.models import Ticket, TranslationCacheEntry
from tests.fakes.translator_api import FakeTranslator
from tests.handlers.conversation import say

DISPUTE = "Das Paket ist kaputt angekommen, ich will mein Geld zurück"


@pytest.fixture
def desk(
    db_url: str, clock: ManualClock, knowledge: Knowledge, translator: FakeTranslator
) -> Iterator[App]:
    settings = Settings(
        store={"url": db_url},
        translation={"provider": "libre", "url": translator.url, "timeout": 5},
    )
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


def test_the_write_lock_is_free_while_the_translator_is_asked(
    desk: App, db_url: str, translator: FakeTranslator
) -> None:
    lock_was: list[str] = []
    translator.on_call = (
        _sqlite_write_lock(db_url, lock_was)
        if db_url.startswith("sqlite")
        else _postgres_transactions(db_url, lock_was)
    )
    translator.dictionary[("de", "zh", DISPUTE)] = "包裹到的时候坏了，我要退款"
    replies = say(desk, DISPUTE, user="kunde", language_hint="de")
    assert replies and replies[0].language == "de"
    assert lock_was and set(lock_was) == {"free"}, lock_was
    with desk.sessions() as session:
        assert session.scalars(select(Ticket.id)).all() == [1]  # once, not twice; number 1
        cached = session.scalars(select(TranslationCacheEntry.translated)).all()
    assert "包裹到的时候坏了，我要退款" in cached  # fetched once, then read from the cache
    asked = [call["q"] for call in translator.calls]
    assert len(asked) == len(set(asked))  # nothing fetched twice


def _sqlite_write_lock(db_url: str, lock_was: list[str]) -> Callable[[], None]:
    """Whether another connection can take SQLite's write lock at once."""
    database = db_url.removeprefix("sqlite:///")

    def try_the_write_lock() -> None:
        connection = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            lock_was.append("free")
        except sqlite3.OperationalError:
            lock_was.append("held")
        finally:
            connection.close()

    return try_the_write_lock


def _postgres_transactions(db_url: str, lock_was: list[str]) -> Callable[[], None]:
    """Whether any other connection to the database is inside a transaction."""

    def look() -> None:
        engine = create_engine(db_url)
        try:
            with engine.connect() as connection:
                inside = connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    )
                )
        finally:
            engine.dispose()
        lock_was.append("free" if inside == 0 else "held")

    return look
