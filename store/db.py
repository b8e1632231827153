"""Engine, sessions and schema upgrades.

SQLite is the embedded default (WAL journal, foreign keys on, a busy timeout so the bot and a
CLI command can share the file); PostgreSQL is used as it is. The schema is always brought up
to date with Alembic migrations, never with ``create_all``, so an upgrade keeps the data.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# advisory lock keys are one bigint space per database: named, so they never meet by chance
MIGRATION_LOCK = zlib.crc32(b"crossdesk.migrations")


class StoreError(Exception):
    """The store cannot be used as configured; the message says why and what to do."""


def create_store_engine(url: str, *, echo: bool = False, busy_timeout: float = 30.0) -> Engine:
    """Create an engine for ``url`` and check that the database answers.

    ``busy_timeout``: how many seconds a SQLite connection waits for another's write lock
    (an import's chunk, the bot's transaction) before "database is locked".
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store.url: {url!r} is not a database URL; use sqlite:///crossdesk.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from exc
    # hide_parameters: a failing statement's error names the SQL, never the values in it
    # (customers' messages, e-mail addresses), so errors can be logged as they are
    kwargs: dict[str, object] = {"echo": echo, "future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout}
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(
                    f"store.url: folder {folder} does not exist; create it or point store.url "
                    "elsewhere"
                )
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreError(
            f"store.url: cannot use {parsed.drivername!r} ({exc}); for PostgreSQL install "
            "the extra: pip install 'crossdesk[postgres]'"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        raise StoreError(
            f"store.url: cannot connect to {parsed.render_as_string(hide_password=True)} "
            f"({reason}); check that the server runs and the URL is right"
        ) from exc
    return engine


# SQLSTATEs of PostgreSQL's "someone else holds the lock": lock_not_available, deadlock_detected
_POSTGRES_BUSY = {"55P03", "40P01"}


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE the database gave for ``error`` (PostgreSQL's five characters), if any:
    what a log line may say of a store failure without its statement or data."""
    return getattr(getattr(error, "orig", None), "sqlstate", None)


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` says the store was busy (another writer held a lock too long), not
    that anything was wrong with what was asked: worth "one moment" and a retry."""
    if not isinstance(error, OperationalError):
        return False
    if sqlstate(error) in _POSTGRES_BUSY:
        return True
    message = str(error.orig).lower()
    return "database is locked" in message or "database table is locked" in message


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


_current_session: ContextVar[Session | None] = ContextVar("crossdesk_session", default=None)


@contextmanager
def bind_session(session: Session) -> Iterator[Session]:
    """Make ``session`` the unit of work that helpers deep in a call (caches) join.

    SQLite has one writer at a time: a helper that opened its own transaction while the
    caller's is open would wait for a lock the caller holds.
    """
    token = _current_session.set(session)
    try:
        yield session
    finally:
        _current_session.reset(token)


def current_session() -> Session | None:
    """The session bound by :func:`bind_session` in this context, if any."""
    return _current_session.get()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


def without_waiting_for_disk(session: Session) -> None:
    """Let the commit of ``session``'s transaction return before PostgreSQL has flushed it to
    disk (``synchronous_commit`` off for this transaction only; nothing elsewhere).

    For records whose loss only repeats work, such as "this reply was sent": the commit is
    visible to every other connection at once, and only a crash of the database server
    within a fraction of a second could forget it (the reply would go out again after its
    lease; nothing is lost). What it buys is a shorter window between a send and its mark,
    in which a replica killed would leave the reply to be sent a second time. Never for what
    a platform is told we have (the inbox's accepts): those wait for the disk.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def advance_sequence(session: Session, table: str, column: str = "id") -> None:
    """Move ``table.column``'s sequence past the largest id stored (PostgreSQL).

    Rows written with explicit ids (the demo shop numbers its customers to link their
    orders) leave the sequence behind, and the next row the database numbers itself would
    get an id already taken. SQLite numbers past the largest rowid by itself.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), "
            f'coalesce(max("{column}"), 1), max("{column}") IS NOT NULL) FROM "{table}"'
        ),
        {"table": table, "column": column},
    )


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (idempotent), one process at a time.

    Replicas that start together would otherwise all find the database behind and all run
    the same migration; all but one fail (a UniqueViolation on ``alembic_version``'s table,
    or an index that exists). On PostgreSQL the upgrade runs under a session-level advisory
    lock: the others wait, then find nothing left to do. The server releases the lock if the
    process dies, so a crash mid-upgrade never blocks the next start.
    """
    from alembic import command

    with migration_lock(engine):
        command.upgrade(_alembic_config(engine), revision)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's migration lock (PostgreSQL; SQLite serves one process)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    # autocommit: waiting for the lock must not hold a transaction open on this connection
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
