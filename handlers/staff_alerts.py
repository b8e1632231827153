"""Staff side of alerts: ``/alerts`` lists active alerts and silences; silence, ack.

- ``/alerts``: active alerts per rule and the silences in force; of each rule the latest few
  orders first, with how late each is ("3 days late", "not shipped 5 days after payment") and
  its ``/order ID`` (or ``/stock SKU``) to look closer;
- ``/alerts silence <rule|fingerprint> <duration> [reason]``: mute a rule or one alert
  (``unshipped:10234``) for ``30m``, ``2h``, ``1d``, ``1h30m``... (at most 30 days);
- ``/alerts unsilence <id>``: end a silence now;
- buttons under an alert message: ``ack:<rule>@<stamp>`` acknowledges the alerts that message
  showed (``ack:<fingerprint>`` one alert, ``ack:<rule>`` all of a rule), ``silence:<rule>:<d>``
  silences the rule for ``d``.

Alert state lives in the store (``store/alert_state.py``); the lifecycle that fills it is in
``alerts/``. Handlers only read it and record staff decisions (acknowledgements and silences).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from handlers.input_bounds import bounded_int
from handlers.messages import Command, IncomingMessage, Reply
from handlers.services import Services
from store import alert_state

ALERT_ACTIONS = ("ack", "silence")
# rule -> the fact saying since when an order is late (ISO), and the words for how late
LATENESS = {
    "overdue_delivery": ("promised", "alerts.late.overdue_delivery"),
    "unshipped": ("paid", "alerts.late.unshipped"),
    "stale_tracking": ("silent_since", "alerts.late.stale_tracking"),
}
# rule -> the staff command that looks closer at its subject
SUBJECT_COMMAND = {
    "unshipped": "order",
    "overdue_delivery": "order",
    "stale_tracking": "order",
    "carrier_exception": "order",
    "low_stock": "stock",
    "days_of_cover": "stock",
    "out_of_stock_with_orders": "stock",
}
MAX_SILENCE = timedelta(days=30)
PER_RULE_LISTED = 5
_DURATION = re.compile(r"^(?:\d{1,6}[mhd])+$")
_PART = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def is_alert_action(action: str) -> bool:
    """Whether a button action belongs to alerts."""
    return action.partition(":")[0] in ALERT_ACTIONS


def parse_duration(text: str) -> timedelta | None:
    """``"2h"``, ``"30m"``, ``"1d"``, ``"1h30m"`` -> timedelta; None if invalid or too long."""
    text = text.strip().lower()
    if not _DURATION.match(text):
        return None
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta() or total > MAX_SILENCE:
        return None
    return total


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def _reply(services: Services, key: str, **values: object) -> Reply:
    lang = services.support.staff_language
    return Reply(services.texts.get(key, lang, **values), language=lang)


def alerts_command(services: Services, session: Session, command: Command) -> Reply:
    """``/alerts``, ``/alerts silence ...``, ``/alerts unsilence <id>``."""
    action = command.args[0].lower() if command.args else ""
    if not action or action == "list":
        return _listing(services, session)
    if action == "silence" and len(command.args) >= 3:
        reason = " ".join(command.args[3:])
        return _silence(services, session, command.args[1], command.args[2], "staff", reason)
    if action == "unsilence" and len(command.args) == 2:
        return _unsilence(services, session, command.args[1])
    return _reply(services, "alerts.usage", rules=", ".join(alert_state.RULES))


def _lateness(services: Services, alert: alert_state.StoredAlert, now: datetime) -> str:
    """How late the alert's order is now ("3 days late"), its carrier's word, or ""."""
    texts, lang, facts = services.texts, services.support.staff_language, alert.facts or {}
    if alert.rule == "carrier_exception" and facts.get("status"):
        return texts.get(f"shipment.status.{facts['status']}", lang)
    if alert.rule not in LATENESS:
        return ""
    fact, key = LATENESS[alert.rule]
    since = facts.get(fact)
    days: object
    try:  # counted as the rule counts: whole days since a time, calendar days since a date
        moment = str(since)
        days = (
            (now - datetime.fromisoformat(moment)).days
            if "T" in moment
            else (now.date() - date.fromisoformat(moment)).days
        )
    except ValueError:  # an alert stored before the fact was: its days when it started
        days = facts.get("days_late", facts.get("days"))
    return texts.get(key, lang, days=days) if days is not None else ""


def _listing(services: Services, session: Session) -> Reply:
    texts, lang, now = services.texts, services.support.staff_language, services.clock()
    lines: list[str] = []
    for summary in alert_state.summaries(session):
        lines.append(
            texts.get(
                "alerts.list.rule",
                lang,
                rule=texts.get(f"alerts.rule.{summary.rule}", lang),
                active=summary.active,
                critical=summary.critical,
                acked=summary.acknowledged,
            )
        )
        earliest = LATENESS.get(summary.rule, (None, ""))[0]
        listed = alert_state.top_active(
            session, summary.rule, PER_RULE_LISTED, earliest_fact=earliest
        )
        for alert in listed:
            acked = (
                texts.get("alerts.list.acked", lang, agent=alert.acked_by) if alert.acked_by else ""
            )
            command = SUBJECT_COMMAND.get(alert.rule)
            late = _lateness(services, alert, now)
            lines.append(
                texts.get(
                    "alerts.list.alert",
                    lang,
                    severity=texts.get(f"alerts.severity.{alert.severity}", lang),
                    subject=f"/{command} {alert.subject}" if command else alert.subject,
                    late=f" · {late}" if late else "",
                    since=_when(alert.started_at),
                    acked=acked,
                )
            )
        if summary.active > PER_RULE_LISTED:
            lines.append(
                texts.get("alerts.list.more", lang, count=summary.active - PER_RULE_LISTED)
            )
    if not lines:
        lines.append(texts.get("alerts.list.none", lang))
    silences = alert_state.active_silences(session, now)
    if silences:
        lines.append(texts.get("alerts.list.silences", lang))
        lines += [
            texts.get(
                "alerts.list.silence",
                lang,
                id=silence.id,
                matcher=silence.matcher,
                ends=_when(silence.ends_at),
                agent=silence.created_by,
                reason=silence.reason,
            ).rstrip()
            for silence in silences
        ]
    return Reply("\n".join(lines), language=lang)


def _silence(
    services: Services, session: Session, matcher: str, duration: str, by: str, reason: str
) -> Reply:
    rules = ", ".join(alert_state.RULES)
    if len(matcher) > 120 or not alert_state.is_known_matcher(matcher):
        return _reply(services, "alerts.silence.unknown", matcher=matcher[:120], rules=rules)
    length = parse_duration(duration)
    if length is None:
        return _reply(
            services,
            "alerts.silence.bad_duration",
            duration=duration[:40],
            max_days=MAX_SILENCE.days,
        )
    now = services.clock()
    silence = alert_state.add_silence(
        session, matcher, now=now, ends_at=now + length, by=by, reason=reason[:500]
    )
    return _reply(
        services,
        "alerts.silence.created",
        matcher=matcher,
        ends=_when(silence.ends_at),
        id=silence.id,
    )


def _unsilence(services: Services, session: Session, number: str) -> Reply:
    silence_id = number.lstrip("#")
    wanted = bounded_int(silence_id)  # "²" passes str.isdigit() but not int()
    ended = (
        alert_state.end_silence(session, wanted, services.clock()) if wanted is not None else None
    )
    if ended is None:
        return _reply(services, "alerts.silence.not_found", id=silence_id[:20])
    return _reply(services, "alerts.silence.ended", id=ended.id, matcher=ended.matcher)


def alert_action(services: Services, session: Session, message: IncomingMessage) -> list[Reply]:
    """Acknowledge or silence from an alert message's buttons (staff only: the router checks)."""
    kind, _, rest = (message.action or "").partition(":")
    who = message.display_name or message.user_id
    if kind == "silence":
        rule, _, duration = rest.partition(":")
        return [_silence(services, session, rule, duration or "4h", who, "")]
    return [_acknowledge(services, session, rest, who)]


def _acknowledge(services: Services, session: Session, target: str, who: str) -> Reply:
    texts, lang = services.texts, services.support.staff_language
    rule, at, stamp = target.partition("@")
    fingerprint = None
    started_by = None
    if at:
        try:
            started_by = datetime.strptime(stamp, "%Y%m%d%H%M%S")
        except ValueError:
            return _reply(services, "command.unknown")
    elif ":" in target:
        rule, fingerprint = target.partition(":")[0], target
    if rule not in alert_state.RULES:
        return _reply(services, "command.unknown")
    count = alert_state.acknowledge(
        session, rule=rule, by=who, fingerprint=fingerprint, started_by=started_by
    )
    if not count:
        return _reply(services, "alerts.ack.none")
    return Reply(
        texts.get(
            "alerts.ack.done",
            lang,
            agent=who,
            count=count,
            rule=texts.get(f"alerts.rule.{rule}", lang),
        ),
        language=lang,
    )
