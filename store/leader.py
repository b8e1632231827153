"""One leader among the replicas: a PostgreSQL session-level advisory lock on its own connection.

The replica that holds the lock leads (it runs the alert rules); the others try to take it now
and then and take over when the leader dies, because the server releases a session's locks the
moment its connection ends, whatever way the process went. That is why it is the database's own
lock and not a row with a heartbeat: no expiry to tune, no clock to trust, no stale leader that
seems alive. The connection is held in autocommit, so leading never keeps a transaction open.

SQLite serves one process: it always leads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import zlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


class LeaderLock:
    """Leadership of ``name`` (e.g. "alerts") among the processes sharing ``engine``'s database.

    Thread-safe: scheduled jobs ask :meth:`lead` from worker threads. Every call is a database
    round trip (a ping while leading, a ``pg_try_advisory_lock`` otherwise), so call it from a
    worker thread, not the event loop.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = zlib.crc32(f"crossdesk.leader.{name}".encode())
        self._connection: Connection | None = None
        self._guard = threading.Lock()

    @property
    def always(self) -> bool:
        """True on SQLite: one process, always the leader."""
        return self.engine.dialect.name != "postgresql"

    @property
    def backend_pid(self) -> int | None:
        """The server process of the connection holding the lock, while this one leads."""
        with self._guard:
            connection = self._connection
            if connection is None:
                return None
            return int(connection.scalar(text("SELECT pg_backend_pid()")) or 0)

    def lead(self) -> bool:
        """Whether this process leads now: keeps the lock while its connection lives, else
        tries to take it (without waiting). A database that cannot be reached means not
        leading, for now."""
        if self.always:
            return True
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    return True
                except DBAPIError:
                    log.warning("lost the %s lead: its database connection ended", self.name)
                    self._drop()
            return self._take()

    def _take(self) -> bool:
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return False
        try:
            taken = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except DBAPIError:
            connection.close()
            return False
        if not taken:
            connection.close()
            return False
        self._connection = connection
        log.info("this process now leads %s", self.name)
        return True

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()
            with contextlib.suppress(Exception):
                connection.close()

    def release(self) -> None:
        """Give the lead up (at shutdown), so another replica takes it at once."""
        with self._guard:
            connection = self._connection
            if connection is None:
                return
            with contextlib.suppress(DBAPIError):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._connection = None
            with contextlib.suppress(Exception):
                connection.close()
