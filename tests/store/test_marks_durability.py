"""Marks that only repeat work when lost commit without waiting for the disk, and only they."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from store.db import without_waiting_for_disk


def test_only_the_marking_transaction_skips_the_wait_for_the_disk(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        without_waiting_for_disk(session)  # a no-op on SQLite, which has no such setting
        if dialect == "postgresql":
            assert session.scalar(text("SHOW synchronous_commit")) == "off"
    if dialect != "postgresql":
        return
    with sessions() as session, session.begin():
        # SET LOCAL ends with its transaction: the next one (accepts among them) waits again
        assert session.scalar(text("SHOW synchronous_commit")) == "on"
