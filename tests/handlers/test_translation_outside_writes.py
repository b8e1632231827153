"""A translation the cache lacks is fetched while no transaction is open: decide, call, then
write. The router handles the batch with the translator deferring, rolls back when it noted
translations to fetch, fetches them, and handles the batch again from the cache, so a slow
translation provider never holds SQLite's write lock (which every other customer, the inbox
and an import wait for).

The fake LibreTranslate server tries to take the write lock from another connection while it
is being asked; it must get it at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

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
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's one write lock is what a slow translator held")
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
    database = db_url.removeprefix("sqlite:///")
    lock_was: list[str] = []

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

    translator.on_call = try_the_write_lock
    translator.dictionary[("de", "zh", DISPUTE)] = "包裹到的时候坏了，我要退款"
    replies = say(desk, DISPUTE, user="kunde", language_hint="de")
    assert replies and replies[0].language == "de"
    assert lock_was and set(lock_was) == {"free"}, lock_was
    with desk.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1  # once, not twice
        cached = session.scalars(select(TranslationCacheEntry.translated)).all()
    assert "包裹到的时候坏了，我要退款" in cached  # fetched once, then read from the cache
    asked = [call["q"] for call in translator.calls]
    assert len(asked) == len(set(asked))  # nothing fetched twice
