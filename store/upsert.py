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

from sqlalchemy import ColumnElement, Insert
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
