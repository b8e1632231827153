"""Progress bars for long commands (imports, demo-data, eval), on a terminal only.

A seller importing a few hundred thousand orders wants to see that something happens and how
long it will take; a cron job or a test wants clean output. Bars are drawn with tqdm on stderr,
and only when both stdout and stderr are terminals; anywhere else nothing is printed.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm


def on_terminal(out: TextIO | None = None, err: TextIO | None = None) -> bool:
    """Whether progress may be drawn: stdout and stderr are both terminals."""
    out, err = out or sys.stdout, err or sys.stderr
    return out.isatty() and err.isatty()


class Bars:
    """One bar per phase of a long task; ``update(phase, done, total)`` moves it.

    A new phase closes the bar of the one before. Off a terminal every call does nothing.
    """

    def __init__(self, unit: str = "it", *, enabled: bool | None = None) -> None:
        self.unit = unit
        self.enabled = on_terminal() if enabled is None else enabled
        self._bar: tqdm | None = None
        self._phase: str | None = None

    def update(self, phase: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` for ``phase``."""
        if not self.enabled:
            return
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._bar = tqdm(
                total=total,
                desc=phase,
                unit=self.unit,
                unit_scale=True,
                unit_divisor=1024 if self.unit == "B" else 1000,
                file=sys.stderr,
                leave=False,
                # a terminal that reports no size (some containers) gets 80 columns
                ncols=shutil.get_terminal_size((80, 24)).columns,
            )
        assert self._bar is not None
        self._bar.update(max(0, min(done, total) - self._bar.n))

    def counter(self, phase: str, total: int) -> Callable[[int], None]:
        """A callback for ``phase`` that takes only the count done."""
        return lambda done: self.update(phase, done, total)

    def close(self) -> None:
        """Remove the current bar (the command's own summary line follows)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
