"""A write that must land waits out a store that is busy, on a real locked SQLite file."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from store.write_retry import with_write_retries


def _engine(path: Path):  # type: ignore[no-untyped-def]
    # no busy timeout: a locked database fails at once, as a deadlock or a lock timeout would
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE marks (id INTEGER PRIMARY KEY, sent INTEGER)"))
        connection.execute(text("INSERT INTO marks VALUES (1, 0)"))
    return engine


def test_a_write_against_a_locked_store_is_retried_until_the_lock_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "busy.db"
    engine = _engine(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # the other writer commits while we wait the second time
            holder.execute("COMMIT")

    def mark() -> int:
        with engine.begin() as connection:
            return connection.execute(text("UPDATE marks SET sent = 1 WHERE id = 1")).rowcount

    with caplog.at_level(logging.WARNING, logger="store.write_retry"):
        assert with_write_retries(mark, "marking 1 answered message", sleep=pause) == 1
    assert pauses == [0.05, 0.1]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sent FROM marks")).scalar() == 1
    assert "marking 1 answered message failed (OperationalError, attempt 1 of 8)" in caplog.text
    holder.close()
    engine.dispose()


def test_a_store_that_stays_busy_fails_after_the_last_attempt(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    engine = _engine(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    pauses: list[float] = []

    def mark() -> None:
        with engine.begin() as connection:
            connection.execute(text("UPDATE marks SET sent = 1 WHERE id = 1"))

    with pytest.raises(OperationalError):
        with_write_retries(mark, "marking", attempts=3, sleep=pauses.append)
    assert pauses == [0.05, 0.1]
    holder.execute("ROLLBACK")
    holder.close()
    engine.dispose()
