"""Retrying a short write that must land: a store that is busy or away for a while is waited for.

Some writes record what already happened outside the store: a reply the platform has
accepted is marked sent. If that write is lost, the reply is sent again when its lease ends
(the platform has no idempotency key), so a failure (a deadlock with another replica's
transaction, a lock wait that timed out, a connection refused while the database restarts)
must not be the end of it. Such a write is worth trying for as long as it still prevents the
repeat: the caller gives that time budget (the reply lease). The write is a whole transaction
each time, so a retry repeats all of it or none.
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

FIRST_PAUSE = 0.05  # seconds, doubled after each failure ...
LONGEST_PAUSE = 2.0  # ... up to this: a store back after an outage is used within 2 s


def with_write_retries(
    write: Callable[[], Result],
    what: str,
    *,
    within: float,
    first_pause: float = FIRST_PAUSE,
    longest_pause: float = LONGEST_PAUSE,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Result:
    """``write()`` (one transaction), tried again after an ``OperationalError`` until it
    lands or ``within`` seconds have passed, pausing ``first_pause`` seconds, then twice as
    long each time up to ``longest_pause``. The last failure is raised.

    ``what`` names the write in the log (never its data); the first failure and the outcome
    are logged, not every attempt, so an outage of a minute writes three lines, not thirty.
    """
    deadline = monotonic() + within
    pause = first_pause
    attempt = 0
    while True:
        attempt += 1
        try:
            result = write()
        except OperationalError as error:
            code = sqlstate(error) or type(error.orig).__name__
            left = deadline - monotonic()
            if left <= 0:
                log.error(
                    "%s failed %d times (%s) in %.0fs; giving up", what, attempt, code, within
                )
                raise
            if attempt == 1:
                log.warning("%s failed (%s); trying again for up to %.0fs", what, code, within)
            sleep(min(pause, left))
            pause = min(pause * 2, longest_pause)
            continue
        if attempt > 1:
            log.warning("%s landed at attempt %d", what, attempt)
        return result
