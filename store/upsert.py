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

from sqlalchemy import ColumnElement, Insert, Table, or_
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
    ``WHERE`` some column of ``update`` differs, for the session's database, to execute with a
    list of rows (one ``executemany``).

    An import writes a chunk of rows in one statement whether they are new or not, instead of
    asking which exist and merging them one by one through the ORM. A stored row is updated in
    place (not deleted and inserted), so what refers to it stays; one whose values are all the
    same is not written at all, so re-importing an unchanged export rewrites nothing.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no ON CONFLICT support for the {dialect} database")
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    changed = or_(*(table.c[name].is_distinct_from(insert.excluded[name]) for name in update))
    return insert.on_conflict_do_update(
        index_elements=list(conflict),
        set_={name: insert.excluded[name] for name in update},
        where=changed,
    )


def execute_many(
    session: Session, statement: Insert, table: Table, rows: list[dict[str, Any]]
) -> None:
    """Execute ``statement`` (an INSERT on ``table``) once per row of ``rows``, in bulk.

    ``session.execute(statement, rows)`` does the same, but builds and processes each row's
    parameters in SQLAlchemy's generic machinery, which costs more than SQLite's own insert.
    With a positional driver (SQLite) the statement is compiled once, each column's own bind
    processor (the type's conversion, e.g. a datetime to SQLite's text form) is applied in
    one loop, and the rows go to the driver's ``executemany``: the same values, stored the
    same way, in about half the time. Other drivers take the ordinary path. Every row must
    have the keys of the first.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    keys = compiled.positiontup
    if not compiled.positional or keys is None or not set(keys) <= rows[0].keys():
        session.execute(statement, rows)  # named parameters, or column defaults to fill in
        return
    converters = [(key, table.c[key].type.bind_processor(dialect)) for key in keys]
    parameters = [
        tuple(convert(row[key]) if convert else row[key] for key, convert in converters)
        for row in rows
    ]
    connection.exec_driver_sql(compiled.string, parameters)
