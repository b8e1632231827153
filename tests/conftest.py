"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when configured),
the knowledge base loaded once, an injected clock, and a fully wired App.

Set ``CROSSDESK_TEST_DATABASE_URL=postgresql+psycopg://...`` to run every store-backed test
against PostgreSQL as well; ``.ci/run`` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App, Knowledge, build_app, build_knowledge
from bot.config import Settings
from store.clock import ManualClock
from store.db import create_store_engine

POSTGRES_URL = os.environ.get("CROSSDESK_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


# Each pytest process works in its own schema, so parallel runs never see each other's tables.
SCHEMA = f"crossdesk_test_{os.getpid()}"


def _fresh_postgres_schema(url: str) -> str:
    """Recreate this process's schema and return a URL whose search_path points at it."""
    engine = create_store_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{SCHEMA}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs on PostgreSQL ``postgres`` (select them with ``-m postgres``)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("db_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schema() -> Iterator[None]:
    yield
    if POSTGRES_URL:
        engine = create_store_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: SQLite in tmp_path, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crossdesk.db'}"
    assert POSTGRES_URL is not None
    return _fresh_postgres_schema(POSTGRES_URL)


@pytest.fixture
def clock() -> ManualClock:
    """Tuesday 2026-03-10 10:00 UTC (inside the default support hours)."""
    return ManualClock(datetime(2026, 3, 10, 10, 0, 0))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(store={"url": db_url})


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    """The demo knowledge base with its indexes, built once for the whole run."""
    return build_knowledge(Settings())


@pytest.fixture
def app(settings: Settings, clock: ManualClock, knowledge: Knowledge) -> Iterator[App]:
    """A wired App on a fresh database with the console as the staff channel."""
    built = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield built
    built.close()
