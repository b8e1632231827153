"""The translation cache in the store: each text is sent to the provider once."""

from __future__ import annotations

from sqlalchemy import Insert
from sqlalchemy.orm import Session, sessionmaker

from store.clock import Clock, utcnow
from store.db import current_session
from store.models import TranslationCacheEntry
from store.upsert import insert_ignoring

_KEY = ("provider", "source", "target", "text_hash")


class StoreTranslationCache:
    """Keeps machine translations in the ``translation_cache`` table.

    Inside a handler's unit of work (``store.db.bind_session``) it reads and writes through
    that session, so it never waits for a lock its own caller holds.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def get(self, provider: str, source: str, target: str, text_hash: str) -> str | None:
        key = (provider, source, target, text_hash)
        bound = current_session()
        if bound is not None:
            row = bound.get(TranslationCacheEntry, key)
            return row.translated if row else None
        with self._sessions() as session:
            row = session.get(TranslationCacheEntry, key)
            return row.translated if row else None

    def put(self, provider: str, source: str, target: str, text_hash: str, text: str) -> None:
        """Keep a translation. ``ON CONFLICT DO NOTHING``: when another message (another
        replica, another batch) cached the same text meanwhile, its row stays and nothing
        fails; the caller's transaction goes on."""
        values = {
            "provider": provider,
            "source": source,
            "target": target,
            "text_hash": text_hash,
            "translated": text,
            "created_at": self._clock(),
        }
        bound = current_session()
        if bound is not None:
            bound.execute(_insert(bound).values(**values))
            return
        with self._sessions() as session, session.begin():
            session.execute(_insert(session).values(**values))


def _insert(session: Session) -> Insert:
    return insert_ignoring(session, TranslationCacheEntry, _KEY)
