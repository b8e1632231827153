"""Logs that are safe to keep and to read: no customer content in them, and no floods.

CrossDesk's own log calls never pass message text, e-mail addresses, phone numbers, order
proofs, tokens or raw exceptions as arguments (``tests/bot/test_log_safety.py`` reads the code
to keep it so). Two filters, put on the handlers that write logs out by :func:`install` (the
CLI does this for the root handler of every command), cover what our calls cannot:

- :class:`WithholdExceptionText` keeps tracebacks but not the exceptions' messages at INFO and
  above: a library's ``ValueError: invalid literal for int(): 'my address is ...'`` is logged
  as ``ValueError: <message withheld, 41 characters>``, with every frame still there;
- :class:`RepeatFilter` lets the first of identical WARNING-or-worse records through and then
  one per window with the count of those held back, so a flood of forged requests or a
  failing dependency costs a line a minute, not a line each.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable

REPEAT_WINDOW_SECONDS = 60.0
REPEAT_MEMORY = 1000  # distinct records remembered; the oldest are forgotten first


def withheld_traceback(error: BaseException) -> str:
    """The traceback of ``error`` and the exceptions it came from, messages withheld."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for index, exc in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following one:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(exc.__traceback__))
        parts.append(_headline(exc))
    return "".join(parts).rstrip("\n")


def _headline(exc: BaseException) -> str:
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    try:
        length = len(str(exc))
    except Exception:  # a broken __str__ must not break logging
        return f"{name}: <message withheld>\n"
    return f"{name}: <message withheld, {length} characters>\n" if length else f"{name}\n"


class WithholdExceptionText(logging.Filter):
    """Format the traceback of INFO-or-worse records with the exception messages withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno >= logging.INFO and record.exc_info[1] is not None:
            record.exc_text = withheld_traceback(record.exc_info[1])
        return True


class RepeatFilter(logging.Filter):
    """Identical records at ``level`` or worse: the first, then one per ``window`` seconds.

    Records are identical when they come from the same logger at the same level with the same
    formatted message (and exception type). The record let through after a quiet window says
    how many were held back during it. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        window: float = REPEAT_WINDOW_SECONDS,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        memory: int = REPEAT_MEMORY,
    ) -> None:
        super().__init__()
        self.window = window
        self.level = level
        self._clock = clock
        self._memory = memory
        self._seen: OrderedDict[Hashable, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a bad format string is logging's to report, not ours
            text = str(record.msg)
        error = record.exc_info[1] if record.exc_info else None
        key = (record.name, record.levelno, text, type(error).__name__ if error else None)
        held_back = self.admit(key)
        if held_back is None:
            return False
        if held_back:
            record.msg = f"{text} ({held_back} more like this in the last {self.window:.0f} s)"
            record.args = ()
        return True

    def admit(self, key: Hashable) -> int | None:
        """None if ``key`` was let through less than a window ago (it is counted), else how
        many were held back since it last was (0 the first time)."""
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                return None
            held_back = int(entry[1]) if entry is not None else 0
            self._seen[key] = [now, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self._memory:
                self._seen.popitem(last=False)
        return held_back


def install(handlers: Iterable[logging.Handler]) -> None:
    """Put both filters on each of ``handlers`` (once: installing twice changes nothing)."""
    for handler in handlers:
        if not any(isinstance(f, WithholdExceptionText) for f in handler.filters):
            handler.addFilter(WithholdExceptionText())
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
