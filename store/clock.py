"""Time as an injectable dependency.

Everything that asks "what time is it" takes a :data:`Clock`, so tests can move time forward
instead of sleeping. Times are naive UTC datetimes, the convention of the whole store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time as a naive UTC datetime (the store's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


class ManualClock:
    """A clock that only moves when told to; for tests and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` and return the new time."""
        self.now += timedelta(**delta)
        return self.now
