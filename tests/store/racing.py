"""Two transactions racing to insert the same keyed row, interleaved deterministically.

The first transaction writes and stays open; the second starts, looks (and finds nothing,
the first has not committed), and the moment it sends its INSERT into the table the first
commits. Whether the database then makes the second wait (PostgreSQL: the uncommitted key;
SQLite: the write lock) or the commit lands first, the second's INSERT meets the first's row:
exactly the moment two replicas meet on a new contact or ticket.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
TIMEOUT = 30.0


def race(
    sessions: sessionmaker[Session],
    table: str,
    first: Callable[[Session], T],
    second: Callable[[Session], T],
) -> tuple[T, T]:
    """Run ``first`` and ``second`` in two threads' transactions as described above; their
    results (take plain values out of the session inside them)."""
    engine: Engine = sessions.kw["bind"]
    first_wrote, second_inserting = threading.Event(), threading.Event()
    results: dict[str, Any] = {}
    errors: list[BaseException] = []
    second_thread: list[threading.Thread] = []

    def spot(conn, cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread() in second_thread and statement.lstrip().upper().startswith(
            f"INSERT INTO {table.upper()} "
        ):
            second_inserting.set()

    def run_first() -> None:
        try:
            with sessions() as session, session.begin():
                results["first"] = first(session)
                session.flush()
                first_wrote.set()
                if not second_inserting.wait(TIMEOUT):
                    raise TimeoutError("the second transaction never inserted")
        except BaseException as exc:
            errors.append(exc)
            first_wrote.set()

    def run_second() -> None:
        try:
            first_wrote.wait(TIMEOUT)
            with sessions() as session, session.begin():
                results["second"] = second(session)
        except BaseException as exc:
            errors.append(exc)
            second_inserting.set()

    event.listen(engine, "before_cursor_execute", spot)
    try:
        threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
        second_thread.append(threads[1])
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
    finally:
        event.remove(engine, "before_cursor_execute", spot)
    if errors:
        raise errors[0]
    return results["first"], results["second"]
