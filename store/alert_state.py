"""The store side of ops alerts: alert lifecycle rows, silences and acknowledgements.

``alerts/lifecycle.py`` writes alert state here in the same transaction as the outbox rows it
causes; ``handlers/staff_alerts.py`` reads it for ``/alerts`` and records what staff decide
(acknowledge, silence). Everything works in the caller's session and transaction.

A run of one rule marks every fingerprint it found in a per-connection temporary table
(``alert_run_seen``), so the alerts that stopped firing are found by SQL (active states not
seen) rather than by holding every fingerprint in Python: memory stays flat however many
orders alert. The stored alerts it tells again (reminders) go into ``alert_run_told`` and are
updated by one statement at the end, not row by row.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from store.models import AlertState, Silence

# The names alert rules register under (alerts/rules.py); silences are checked against them.
RULES = (
    "unshipped",
    "overdue_delivery",
    "stale_tracking",
    "carrier_exception",
    "low_stock",
    "days_of_cover",
    "out_of_stock_with_orders",
)
FIRING, NOTIFIED, RESOLVED = "firing", "notified", "resolved"
ACTIVE = (FIRING, NOTIFIED)

_run_tables = MetaData()
_seen = Table(
    "alert_run_seen",
    _run_tables,
    Column("fingerprint", String(120), primary_key=True),
    prefixes=["TEMPORARY"],
)
_told = Table(
    "alert_run_told",
    _run_tables,
    Column("fingerprint", String(120), primary_key=True),
    prefixes=["TEMPORARY"],
)


class StateRow(NamedTuple):
    """What the lifecycle needs to know about an alert's stored state."""

    fingerprint: str
    severity: str
    state: str
    repeat_due: bool  # last told at or before the run's repeat cutoff
    acked_severity: str | None
    step: int  # the lifecycle step it is at (AlertState.step)


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An active alert as stored: enough to render it in a resolved notice or a listing."""

    fingerprint: str
    rule: str
    subject: str
    severity: str
    state: str
    facts: dict[str, Any]
    started_at: datetime
    acked_by: str | None
    step: int = 0


# --- one rule's run ---------------------------------------------------------------------------


def lock_rule(session: Session, rule: str) -> bool:
    """Take the rule's evaluation lock for this transaction; False if another process has it.

    PostgreSQL: a transaction-level advisory lock, so one replica evaluates a rule at a time.
    SQLite: a no-op write takes the database's write lock now (waiting up to the busy
    timeout), so a concurrent ``alerts run-once`` and the bot's scheduler take turns.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"crossdesk.alerts.{rule}".encode())
        return bool(session.scalar(select(func.pg_try_advisory_xact_lock(key))))
    session.execute(update(AlertState).where(text("0 = 1")).values(rule=AlertState.rule))
    return True


def start_run(session: Session) -> None:
    """Prepare this run's temporary tables (empty): fingerprints seen, and those told."""
    for table in (_seen, _told):
        session.execute(
            text(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {table.name} "
                "(fingerprint VARCHAR(120) PRIMARY KEY)"
            )
        )
        session.execute(delete(table))


def _mark(session: Session, table: Table, fingerprints: Sequence[str]) -> None:
    """Add fingerprints to a run table (a repeated one is ignored).

    Plain driver ``executemany``: it runs for every alert of every run, and SQLAlchemy's
    per-row parameter handling would cost more than the insert itself.
    """
    if not fingerprints:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql = f"INSERT INTO {table.name} (fingerprint) VALUES (%s) ON CONFLICT DO NOTHING"
    else:
        sql = f"INSERT OR IGNORE INTO {table.name} (fingerprint) VALUES (?)"
    connection.exec_driver_sql(sql, [(fingerprint,) for fingerprint in fingerprints])


def mark_seen(session: Session, fingerprints: Sequence[str]) -> None:
    """Record that these fingerprints fire in this run."""
    _mark(session, _seen, fingerprints)


def mark_told(session: Session, fingerprints: Sequence[str]) -> None:
    """Record that these stored alerts go into this run's message (a repeat, or the first
    message after a silence); :func:`record_told` then updates them all in one statement."""
    _mark(session, _told, fingerprints)


def record_told(session: Session, now: datetime) -> int:
    """Mark the alerts of :func:`mark_told` notified now; returns how many."""
    result = session.execute(
        update(AlertState)
        .where(AlertState.fingerprint.in_(select(_told.c.fingerprint)))
        .values(state=NOTIFIED, last_notified_at=now, last_seen_at=now, step=AlertState.step + 1),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_run(session: Session) -> None:
    """Empty the temporary tables (they live as long as the connection)."""
    for table in (_seen, _told):
        session.execute(delete(table))


STATE_WIDTH = 5  # columns with_states appends


def with_states(query: Select[Any], rule: str, repeat_before: datetime) -> Select[Any]:
    """``query`` (whose first column is the alert's subject) with the stored state of each
    row's alert appended (``STATE_WIDTH`` columns, NULL when there is none): one primary-key
    probe per row inside the rule's own query instead of a lookup per chunk. Whether a repeat
    is due (told at or before ``repeat_before``) is decided in SQL, so no timestamp is parsed
    per row."""
    rows = query.subquery()
    fingerprint = literal(f"{rule}:", String) + rows.c[0]
    due = case((AlertState.last_notified_at <= repeat_before, 1), else_=0)
    return select(
        rows, AlertState.severity, AlertState.state, due, AlertState.acked_severity, AlertState.step
    ).outerjoin(AlertState, AlertState.fingerprint == fingerprint)


def state_from_row(fingerprint: str, values: Sequence[Any]) -> StateRow | None:
    """The StateRow of the values :func:`with_states` appended; None if the alert is new."""
    severity, state, due, acked_severity, step = values
    if severity is None:
        return None
    return StateRow(fingerprint, severity, state, bool(due), acked_severity, int(step))


def insert_states(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new alert states (full rows) in one statement."""
    if rows:
        session.execute(_states_table().insert(), list(rows))


def update_states(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Update alert states by fingerprint; every dict names the same columns."""
    if not rows:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    table = _states_table()
    for columns, same in groups.items():
        values = {c: _param(c) for c in columns if c != "fingerprint"}
        statement = update(table).where(table.c.fingerprint == _param("fingerprint"))
        session.execute(
            statement.values(values), [{f"p_{k}": v for k, v in row.items()} for row in same]
        )


def _states_table() -> Table:
    """The alert_state table itself (declarative types it as any FromClause)."""
    return cast(Table, AlertState.__table__)


def _param(column: str) -> BindParameter[Any]:
    return bindparam(f"p_{column}")


def _unseen(rule: str) -> tuple[ColumnElement[bool], ...]:
    return (
        AlertState.rule == rule,
        AlertState.state.in_(ACTIVE),
        ~exists().where(_seen.c.fingerprint == AlertState.fingerprint),
    )


def unseen_active(session: Session, rule: str, batch: int = 2000) -> Iterator[StoredAlert]:
    """Active alerts of ``rule`` not seen in this run (they are resolving), streamed."""
    query = select(
        AlertState.fingerprint,
        AlertState.rule,
        AlertState.subject,
        AlertState.severity,
        AlertState.state,
        AlertState.facts,
        AlertState.started_at,
        AlertState.acked_by,
        AlertState.step,
    ).where(*_unseen(rule))
    result = session.execute(query, execution_options={"yield_per": batch})
    for row in result:
        yield StoredAlert(*row)


def resolve_unseen(session: Session, rule: str, now: datetime) -> int:
    """Mark the active alerts of ``rule`` not seen in this run resolved; returns how many."""
    result = session.execute(
        update(AlertState)
        .where(*_unseen(rule))
        .values(
            state=RESOLVED,
            resolved_at=now,
            acked_by=None,
            acked_severity=None,
            step=AlertState.step + 1,
        ),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune_resolved(session: Session, rule: str, before: datetime) -> None:
    """Forget alerts of ``rule`` that resolved before ``before``."""
    session.execute(
        delete(AlertState).where(
            AlertState.rule == rule,
            AlertState.state == RESOLVED,
            AlertState.resolved_at < before,
        ),
        execution_options={"synchronize_session": False},
    )


# --- silences ---------------------------------------------------------------------------------


def is_known_matcher(matcher: str) -> bool:
    """Whether ``matcher`` names a rule or has the shape of a fingerprint (``rule:subject``)."""
    rule, colon, subject = matcher.partition(":")
    return rule in RULES and (not colon or bool(subject))


def rule_silences(session: Session, rule: str, now: datetime) -> tuple[bool, set[str]]:
    """Whether the whole rule is silenced now, and the silenced fingerprints of the rule."""
    matchers = session.scalars(
        select(Silence.matcher).where(Silence.starts_at <= now, Silence.ends_at > now)
    ).all()
    prefix = f"{rule}:"
    return rule in matchers, {m for m in matchers if m.startswith(prefix)}


def add_silence(
    session: Session, matcher: str, *, now: datetime, ends_at: datetime, by: str, reason: str = ""
) -> Silence:
    """Silence ``matcher`` (a rule name or a fingerprint) from now until ``ends_at``."""
    silence = Silence(
        matcher=matcher, starts_at=now, ends_at=ends_at, created_by=by[:200], reason=reason
    )
    session.add(silence)
    session.flush()
    return silence


def end_silence(session: Session, silence_id: int, now: datetime) -> Silence | None:
    """End an active silence now; None if there is no such active silence."""
    silence = session.get(Silence, silence_id)
    if silence is None or silence.ends_at <= now:
        return None
    silence.ends_at = now
    return silence


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences in force now, ending soonest first."""
    return list(
        session.scalars(
            select(Silence)
            .where(Silence.starts_at <= now, Silence.ends_at > now)
            .order_by(Silence.ends_at, Silence.id)
        )
    )


# --- acknowledgements and listings ------------------------------------------------------------


def acknowledge(
    session: Session,
    *,
    rule: str,
    by: str,
    fingerprint: str | None = None,
    started_by: datetime | None = None,
) -> int:
    """Acknowledge active alerts: one fingerprint, or those of ``rule`` that started by
    ``started_by`` (the alerts a group message showed). Returns how many were acknowledged.

    An acknowledged alert is not repeated until it resolves or its severity changes.
    """
    conditions = [AlertState.rule == rule, AlertState.state.in_(ACTIVE)]
    if fingerprint is not None:
        conditions.append(AlertState.fingerprint == fingerprint)
    if started_by is not None:
        conditions.append(AlertState.started_at <= started_by)
    result = session.execute(
        update(AlertState)
        .where(*conditions)
        .values(acked_by=by[:200], acked_severity=AlertState.severity),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RuleSummary:
    """Counts of one rule's active alerts."""

    rule: str
    active: int
    critical: int
    acknowledged: int


def summaries(session: Session) -> list[RuleSummary]:
    """Active alerts per rule, in rule order."""
    rows = session.execute(
        select(
            AlertState.rule,
            func.count(),
            func.sum(case((AlertState.severity == "critical", 1), else_=0)),
            func.count(AlertState.acked_by),
        )
        .where(AlertState.state.in_(ACTIVE))
        .group_by(AlertState.rule)
    ).all()
    found = {row[0]: RuleSummary(row[0], row[1], int(row[2] or 0), row[3]) for row in rows}
    order = {rule: index for index, rule in enumerate(RULES)}
    return sorted(found.values(), key=lambda s: (order.get(s.rule, len(order)), s.rule))


def top_active(
    session: Session, rule: str, limit: int, *, earliest_fact: str | None = None
) -> list[StoredAlert]:
    """The ``limit`` first active alerts of ``rule``: with ``earliest_fact``, those whose
    fact of that name (an ISO date or time: when it was promised, paid, last scanned) is the
    earliest, i.e. the latest orders first; else the oldest alerts, critical first."""
    earliest: list[Any] = []
    if earliest_fact is not None:
        fact = AlertState.facts[earliest_fact].as_string()
        earliest = [case((fact.is_(None), 1), else_=0), fact]
    rows = session.execute(
        select(
            AlertState.fingerprint,
            AlertState.rule,
            AlertState.subject,
            AlertState.severity,
            AlertState.state,
            AlertState.facts,
            AlertState.started_at,
            AlertState.acked_by,
            AlertState.step,
        )
        .where(AlertState.rule == rule, AlertState.state.in_(ACTIVE))
        .order_by(
            *earliest,
            case((AlertState.severity == "critical", 0), else_=1),
            AlertState.started_at,
            AlertState.fingerprint,
        )
        .limit(limit)
    )
    return [StoredAlert(*row) for row in rows]


def active_fingerprints(session: Session, fingerprints: Iterable[str]) -> set[str]:
    """Which of ``fingerprints`` are active alerts."""
    wanted = list(fingerprints)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(AlertState.fingerprint).where(
                AlertState.fingerprint.in_(wanted), AlertState.state.in_(ACTIVE)
            )
        )
    )
