"""Retrying a short write that must land: a store that is busy or briefly away is waited for.

Some writes record what already happened outside the store: a reply the platform has
accepted is marked sent. If that write is lost, the reply is sent again when its lease ends
(the platform has no idempotency key), so one failure (a deadlock with another replica's
transaction, a lock wait that timed out, a connection dropped by a restart) must not be the
end of it. The write is a whole transaction each time, so a retry repeats all of it or none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from store.db import sqlstate

__all__ = ["with_write_retries"]

log = logging.getLogger(__name__)

Result = TypeVar("Result")

ATTEMPTS = 8
FIRST_PAUSE = 0.05  # seconds, doubled after each failure: about 6 s in all


def with_write_retries(
    write: Callable[[], Result],
    what: str,
    *,
    attempts: int = ATTEMPTS,
    first_pause: float = FIRST_PAUSE,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """``write()`` (one transaction), tried again after an ``OperationalError`` up to
    ``attempts`` times in all, pausing ``first_pause`` seconds, then twice as long each time.
    The last failure is raised. ``what`` names the write in the log (never its data)."""
    pause = first_pause
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as error:
            if attempt == attempts:
                raise
            code = sqlstate(error) or type(error.orig).__name__
            log.warning(
                "%s failed (%s, attempt %d of %d); trying again in %.2fs",
                what,
                code,
                attempt,
                attempts,
                pause,
            )
            sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")  # the loop returns or raises
