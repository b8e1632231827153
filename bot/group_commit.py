"""Group commit: the writes that arrive while one is in progress go to the store together.

A burst of small writes (an inbox row per delivery, a "sent" mark per reply) costs one
transaction each when written one by one, and the commit, not the row, is the expensive part.
:class:`GroupCommit` keeps one write in flight on its executor; everything submitted meanwhile
waits and is written by the next call, in one transaction. Under light load a write holds one
item and nothing waits; under a burst the cost per item falls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Runs ``write`` on ``executor`` for all the items submitted while the last call ran.

    ``write`` takes the items in submission order and returns one result per item. When it
    raises, every submission of that call raises the same error: none of them is written.
    """

    def __init__(self, write: Callable[[list[Item]], list[Result]], executor: Executor) -> None:
        self._write = write
        self._executor = executor
        self._waiting: list[tuple[list[Item], asyncio.Future[list[Result]]]] = []
        self._writing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """True while a write runs or submissions wait for one."""
        return self._writing or bool(self._waiting)

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """Write ``items`` (with whatever else is waiting); returns their results once the
        write has returned."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Result]] = loop.create_future()
        self._waiting.append((list(items), future))
        if not self._writing:
            self._writing = True
            self._task = loop.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, []
                flat = [item for items, _ in waiting for item in items]
                try:
                    results = await loop.run_in_executor(self._executor, self._write, flat)
                except Exception as error:
                    for _, future in waiting:
                        if not future.done():
                            future.set_exception(error)
                    continue
                start = 0
                for items, future in waiting:
                    if not future.done():
                        future.set_result(results[start : start + len(items)])
                    start += len(items)
        finally:
            self._writing = False
