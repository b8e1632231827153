"""INSERT ... ON CONFLICT DO NOTHING for the two databases CrossDesk runs on.

Rows with a natural key (a contact's platform id, a cached translation, an outbox row's dedupe
key, a customer's e-mail) are written with the database's own conflict handling rather than
"look, then insert": two transactions that both looked and found nothing would otherwise both
insert, and the second would fail on the unique key and roll back everything it did. With
``ON CONFLICT DO NOTHING`` the second insert waits for the first transaction, then quietly
keeps the row that won; the caller reads it back. SQLite (3.24+) and PostgreSQL share the
syntax, including the ``WHERE`` that names a partial unique index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignoring(
    session: Session,
    model: Any,
    conflict: Sequence[str],
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """``INSERT INTO model ... ON CONFLICT (conflict) [WHERE where] DO NOTHING`` for the
    session's database; add ``.values()`` / ``.returning()`` and execute it in ``session``.

    ``where`` names the predicate of a partial unique index, which PostgreSQL needs to infer
    the index the conflict is about.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no ON CONFLICT support for the {dialect} database")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=list(conflict), index_where=where)


def upsert(
    session: Session, table: Table, conflict: Sequence[str], update: Sequence[str]
) -> Insert:
    """``INSERT INTO table ... ON CONFLICT (conflict) DO UPDATE SET update = excluded.update``
    for the session's database, to execute with a list of rows (one ``executemany``).

    An import writes a chunk of rows in one statement whether they are new or not, instead of
    asking which exist and merging them one by one through the ORM. The row keeps its
    identity (it is updated in place, not deleted and inserted), so what refers to it stays.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no ON CONFLICT support for the {dialect} database")
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=list(conflict), set_={name: insert.excluded[name] for name in update}
    )
