"""The alert lifecycle, as Prometheus Alertmanager runs it: firing → notified → resolved.

One run of one rule, in one transaction:

1. **evaluate**: the rule streams its alerts (``alerts/rules.py``);
2. **dedupe**: each alert is compared with its stored state (:func:`dedupe`; the state comes
   joined to the rule's own query): new, changed
   severity, due for a repeat after ``repeat_interval``, or already told (quiet); silences and
   acknowledgements keep it quiet;
3. **group**: everything to tell goes into ONE :class:`AlertGroup` per rule and run (the top N
   worst plus counts by carrier/country or warehouse), and so do the alerts that stopped firing;
4. **route**: the rule's targets (:func:`route`);
5. **notify**: one outbox row per target channel (:func:`notify`), written in the same
   transaction as the state changes, so a crash or a chat outage neither loses nor repeats one.
   Its key names the alerts it tells and the lifecycle step of each (``alerts/groups.py``),
   never the time: two runs in one second that tell different alerts queue two messages, and
   a run's alerts are marked told only together with a row that tells them.

Memory stays flat: alerts stream in chunks, each with its state, and the alerts that resolved
are found in SQL (``store.alert_state``), not by holding every fingerprint in Python.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from alerts.groups import CHANGED, NEW, QUIET, REPEAT, AlertGroup, GroupEntry
from alerts.rules import BATCH, Alert, Rule, build_rules
from alerts.settings import AlertSettings
from store import alert_state, outbox
from store.alert_state import FIRING, NOTIFIED, RESOLVED, StateRow
from store.clock import Clock, utcnow

__all__ = ["CHANGED", "NEW", "QUIET", "REPEAT", "AlertEngine", "AlertGroup", "GroupEntry"]
log = logging.getLogger(__name__)
CHUNK = 1000
_MICROSECOND = timedelta(microseconds=1)


# --- dedupe -----------------------------------------------------------------------------------


def dedupe(alert: Alert, previous: StateRow | None) -> str:
    """Why ``alert`` should be told now (NEW, CHANGED, REPEAT), or QUIET if it was told
    (``previous.repeat_due``: it was last told ``repeat_interval`` ago or longer).

    An acknowledged alert stays quiet until its severity changes (or it resolves and fires
    again); an alert never told (it fired while silenced) is NEW when it can speak.
    """
    if previous is None or previous.state == RESOLVED:
        return NEW
    if previous.severity != alert.severity:
        return CHANGED
    if previous.state == FIRING:
        return NEW
    if previous.acked_severity == alert.severity:
        return QUIET
    if previous.repeat_due:
        return REPEAT
    return QUIET


def state_change(
    alert: Alert, previous: StateRow | None, reason: str, speaks: bool, now: datetime
) -> dict[str, Any] | None:
    """The columns to write for ``alert`` (with ``fingerprint``), or None if nothing but
    perhaps its notification time changes (a reminder, or the first message after a silence:
    the stored facts stay those of when it started or changed).

    ``speaks``: the alert goes into this run's message (it is not silenced and not quiet).
    """
    told = {"state": NOTIFIED, "last_notified_at": now} if speaks else {"state": FIRING}
    if previous is None or previous.state == RESOLVED:
        return {
            "step": first_step(now) if previous is None else previous.step + 1,
            "fingerprint": alert.fingerprint,
            "rule": alert.rule,
            "subject": alert.subject,
            "severity": alert.severity,
            "facts": alert.facts,
            "started_at": now,
            "last_seen_at": now,
            "last_notified_at": None,
            "resolved_at": None,
            "acked_by": None,
            "acked_severity": None,
            **told,
        }
    if reason == CHANGED:
        return {
            "step": previous.step + 1,
            "fingerprint": alert.fingerprint,
            "severity": alert.severity,
            "facts": alert.facts,
            "last_seen_at": now,
            "acked_by": None,
            "acked_severity": None,
            **told,
        }
    return None  # unchanged, or told again: store.alert_state.record_told updates those


def first_step(now: datetime) -> int:
    """The step of a new alert row: the clock in microseconds, so it is above every step of
    an earlier row of the same fingerprint (pruned at least ``resolved_retention_days`` ago)."""
    return (now - datetime(1970, 1, 1)) // _MICROSECOND


# --- route and notify -------------------------------------------------------------------------


def route(settings: AlertSettings, rule: str, configured: list[str]) -> list[str]:
    """The channels rule ``rule`` notifies (see AlertSettings.targets_for)."""
    return settings.targets_for(rule, configured)


class Renderer(Protocol):
    """Turns groups into message text and buttons (``alerts/render.py``)."""

    def firing(
        self, group: AlertGroup, *, firing: int, stamp: str
    ) -> tuple[str, list[list[list[str]]]]: ...

    def resolved(self, group: AlertGroup) -> str: ...


def notify(
    session: Session,
    *,
    kind: str,
    key: str,
    text: str,
    buttons: list[list[list[str]]],
    targets: Iterable[str],
    now: datetime,
    mention: bool = False,
) -> int:
    """Queue one staff message per target channel in ``session``; returns how many rows."""
    queued = 0
    for channel in targets:
        dedupe_key = f"{key}:{channel}"
        row = outbox.enqueue(
            session,
            channel=channel,
            kind=kind,
            payload={"to": "staff", "text": text, "buttons": buttons, "mention": mention},
            now=now,
            dedupe_key=dedupe_key,
        )
        if row is None and not outbox.is_queued(session, dedupe_key):
            # cannot happen while outbox rows are kept; if it did, the run's alerts would be
            # marked told with nothing telling them: roll the run back instead
            raise RuntimeError(f"outbox row {dedupe_key} was neither added nor found")
        queued += row is not None
    return queued


# --- one run ----------------------------------------------------------------------------------


@dataclass
class RuleRun:
    """What one run of one rule found and did."""

    rule: str
    ran: bool = True  # False: another process held the rule's lock
    firing: int = 0  # alerts the rule found
    told: int = 0  # alerts in this run's message (new, changed or repeated)
    resolved: int = 0
    messages: int = 0  # outbox rows written
    rule_seconds: float = 0.0  # time inside the rule's query and row handling
    seconds: float = 0.0  # the whole run


class AlertEngine:
    """Runs rules through the lifecycle against the store."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: AlertSettings,
        renderer: Renderer,
        *,
        configured: list[str] | None = None,
        clock: Clock = utcnow,
        rules: dict[str, Rule] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.renderer = renderer
        self.configured = list(configured or [])
        self.clock = clock
        self.rules = rules or build_rules(settings)

    def run_all(self) -> list[RuleRun]:
        """Run every enabled rule once, each in its own transaction."""
        return [self.run_rule(name) for name in self.settings.enabled_rules()]

    def run_rule(self, name: str) -> RuleRun:
        """Evaluate rule ``name`` now and write its state changes and notifications."""
        rule = self.rules[name]
        started = time.perf_counter()
        now = self.clock()
        report = RuleRun(name)
        with self.sessions() as session, session.begin():
            if not alert_state.lock_rule(session, name):
                log.info("alert rule %s runs elsewhere; skipped", name)
                return RuleRun(name, ran=False)
            alert_state.start_run(session)
            rule_silenced, fingerprints = alert_state.rule_silences(session, name, now)
            told = AlertGroup(name, rule.group_by, self.settings.group_top)
            repeat_before = now - self.settings.repeat_interval
            timed = _Timed(_with_states(session, rule, now, repeat_before))
            for chunk in _chunks(timed, CHUNK):
                self._chunk(session, chunk, now, rule_silenced, fingerprints, told)
                report.firing += len(chunk)
            report.rule_seconds = timed.seconds
            gone = AlertGroup(name, rule.group_by, self.settings.group_top)
            for stored in alert_state.unseen_active(session, name):
                quiet = (
                    rule_silenced or stored.fingerprint in fingerprints or stored.state != NOTIFIED
                )
                if not quiet:
                    entry = GroupEntry(stored.subject, stored.severity, stored.facts, 0.0)
                    gone.add(entry, step=stored.step + 1)  # resolve_unseen takes the step
            alert_state.record_told(session, now)
            report.resolved = alert_state.resolve_unseen(session, name, now)
            report.told = told.count
            report.messages = self._notify(session, told, gone, report.firing, now)
            retention = timedelta(days=self.settings.resolved_retention_days)
            alert_state.prune_resolved(session, name, now - retention)
            alert_state.end_run(session)
        report.seconds = time.perf_counter() - started
        log.info(
            "alert rule %s: %d firing, %d told, %d resolved in %.2fs",
            name, report.firing, report.told, report.resolved, report.seconds,
        )  # fmt: skip
        return report

    def _chunk(
        self,
        session: Session,
        chunk: list[tuple[Alert, StateRow | None]],
        now: datetime,
        rule_silenced: bool,
        fingerprints: set[str],
        told: AlertGroup,
    ) -> None:
        alert_state.mark_seen(session, [alert.fingerprint for alert, _ in chunk])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        again: list[str] = []
        for alert, before in chunk:
            reason = dedupe(alert, before)
            silenced = rule_silenced or alert.fingerprint in fingerprints
            speaks = reason != QUIET and not silenced
            change = state_change(alert, before, reason, speaks, now)
            if change is not None:
                (inserts if before is None else updates).append(change)
            elif speaks:
                again.append(alert.fingerprint)  # record_told moves it one step on
            if speaks:
                entry = GroupEntry(alert.subject, alert.severity, alert.facts, alert.score)
                step = change["step"] if change is not None else before.step + 1  # type: ignore[union-attr]
                told.add(entry, reason, step=step)
        alert_state.insert_states(session, inserts)
        alert_state.update_states(session, updates)
        alert_state.mark_told(session, again)

    def _notify(
        self, session: Session, told: AlertGroup, gone: AlertGroup, firing: int, now: datetime
    ) -> int:
        targets = route(self.settings, told.rule, self.configured)
        stamp = now.strftime("%Y%m%d%H%M%S")
        queued = 0
        if told:
            text, buttons = self.renderer.firing(told, firing=firing, stamp=stamp)
            urgent = told.severities["critical"] > 0 and told.reasons[REPEAT] < told.count
            queued += notify(
                session,
                kind="alert.firing",
                key=told.key("firing"),
                text=text,
                buttons=buttons,
                targets=targets,
                now=now,
                mention=urgent,
            )
        if gone:
            queued += notify(
                session,
                kind="alert.resolved",
                key=gone.key("resolved"),
                text=self.renderer.resolved(gone),
                buttons=[],
                targets=targets,
                now=now,
            )
        return queued


Found = tuple[Alert, StateRow | None]


def _with_states(
    session: Session, rule: Rule, now: datetime, repeat_before: datetime
) -> Iterator[Found]:
    """The rule's alerts, each with its stored state, streamed from one query."""
    query = alert_state.with_states(rule.query(now), rule.name, repeat_before)
    width = alert_state.STATE_WIDTH
    # per statement: Connection.execution_options() would change the connection in place
    connection = session.connection()
    make, state_of = rule.alert, alert_state.state_from_row
    for rows in connection.execute(query, execution_options={"yield_per": BATCH}).partitions():
        for row in rows:
            alert = make(row[:-width], now)
            yield alert, state_of(alert.fingerprint, row[-width:])


class _Timed:
    """Wraps an iterator and adds up the time spent producing its items."""

    def __init__(self, items: Iterator[Found]) -> None:
        self._items = items
        self.seconds = 0.0

    def __iter__(self) -> Iterator[Found]:
        return self

    def __next__(self) -> Found:
        started = time.perf_counter()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - started


def _chunks(items: Iterable[Found], size: int) -> Iterator[list[Found]]:
    chunk: list[Found] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
