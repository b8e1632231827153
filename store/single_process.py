"""SQLite serves one ``crossdesk run`` at a time; a second one is refused at start.

SQLite has one writer and no way to share work between processes the way PostgreSQL's row
locks do: two bots on one file would each poll Telegram (and take each other's updates), run
every alert rule, and wait on each other's write lock. :func:`only_process` takes an exclusive
lock on a file beside the database for as long as the bot runs; a second bot finds it taken and
stops with a line that names the first one's pid and the fix. Short commands (``import``,
``alerts run-once``, ``eval``) do not take it: they may run beside the bot.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


class StoreInUse(Exception):
    """Another process runs the bot on this SQLite file."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url``, or None (another database, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


@contextlib.contextmanager
def only_process(url: str) -> Iterator[None]:
    """Hold the SQLite store at ``url`` for this process; raises StoreInUse if another holds
    it. Does nothing for PostgreSQL, which replicas share (and on systems without flock)."""
    database = sqlite_file(url)
    try:
        import fcntl
    except ImportError:  # not a POSIX system: nothing to lock with
        database = None
    if database is None:
        yield
        return
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+", encoding="ascii") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise StoreInUse(
                f"store.url: another crossdesk run (pid {holder}) uses {database}; SQLite "
                "serves one bot process. Stop that one, or share a PostgreSQL store between "
                'replicas (store.url = "postgresql+psycopg://user@host/crossdesk")'
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
