"""Fixtures of the store tests: a migrated database of each backend, and its sessions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from store.db import create_store_engine, session_factory, upgrade


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a fresh, migrated database (SQLite, and PostgreSQL when configured)."""
    engine = create_store_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()
