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
        assert with_write_retries(mark, "marking 1 answered message", within=60, sleep=pause) == 1
    assert pauses == [0.05, 0.1]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sent FROM marks")).scalar() == 1
    assert "marking 1 answered message failed (OperationalError)" in caplog.text
    assert "landed at attempt 3" in caplog.text
    holder.close()
    engine.dispose()


class _Clock:
    """Time that passes only when the retry pauses."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def test_a_store_that_stays_busy_fails_once_the_time_budget_is_spent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "busy.db"
    engine = _engine(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    clock = _Clock()

    def mark() -> None:
        with engine.begin() as connection:
            connection.execute(text("UPDATE marks SET sent = 1 WHERE id = 1"))

    with (
        caplog.at_level(logging.WARNING, logger="store.write_retry"),
        pytest.raises(OperationalError),
    ):
        with_write_retries(mark, "marking", within=10, sleep=clock.sleep, monotonic=clock.monotonic)
    # doubling up to the longest pause, and never past the budget
    assert clock.pauses[:7] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
    assert sum(clock.pauses) == pytest.approx(10)
    assert max(clock.pauses) == 2.0
    # one line for the first failure and one for giving up, not one per attempt
    assert [r.levelname for r in caplog.records] == ["WARNING", "ERROR"]
    assert "giving up" in caplog.records[-1].getMessage()
    holder.execute("ROLLBACK")
    holder.close()
    engine.dispose()
