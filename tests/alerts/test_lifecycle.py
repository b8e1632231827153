"""The lifecycle with an injected clock: fire once, repeat, resolve, silence, group, ack, and
delivery that survives a failing chat API and a restart."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerts.lifecycle import AlertEngine
from bot.alert_jobs import build_engine
from bot.app import App, build_app
from bot.delivery import Deliverer
from store import alert_state
from store.clock import ManualClock
from store.models import AlertState, OutboxMessage, Shipment
from tests.alerts.conftest import NOW, RecordingSender, add_order, add_shipment, deliver
from tests.handlers.conversation import outbox_rows, press, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Mia"}


def text(app: App, key: str, **values: object) -> str:
    return app.knowledge.texts.get(key, "en", **values)


def header(app: App, rule: str, count: int, new: int, repeat: int, firing: int) -> str:
    title = text(app, f"alerts.rule.{rule}")
    return text(
        app, "alerts.firing.header", rule=title, count=count, new=new, repeat=repeat, firing=firing
    )


def state_of(app: App, fingerprint: str) -> AlertState | None:
    with app.sessions() as session:
        return session.get(AlertState, fingerprint)


def late_delivery(app: App, order_id: str = "7001") -> None:
    with app.sessions() as session, session.begin():
        add_shipment(session, order_id, promised=NOW.date() - timedelta(days=4), carrier="UPS")


def unshipped_and_told(desk: App, engine: AlertEngine, order_id: str) -> RecordingSender:
    """An order paid 4 days ago and not shipped, its alert evaluated and delivered once."""
    with desk.sessions() as session, session.begin():
        add_order(session, order_id, paid_at=NOW - timedelta(days=4))
    engine.run_rule("unshipped")
    sender = RecordingSender()
    deliver(desk, sender)
    return sender


def test_late_order_fires_once_repeats_then_resolves(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    sender = RecordingSender()
    late_delivery(desk)
    first = engine.run_rule("overdue_delivery")
    assert (first.firing, first.told, first.messages) == (1, 1, 1)
    assert deliver(desk, sender) == 1
    assert sender.sent[0].text.startswith(header(desk, "overdue_delivery", 1, 1, 0, 1))
    assert "7001" in sender.sent[0].text and "UPS" in sender.sent[0].text
    assert state_of(desk, "overdue_delivery:7001").state == "notified"  # type: ignore[union-attr]

    clock.advance(minutes=1)
    assert engine.run_rule("overdue_delivery").messages == 0  # told once
    clock.advance(minutes=238)  # 239 minutes after the first message: not yet
    assert engine.run_rule("overdue_delivery").messages == 0
    clock.advance(minutes=1)  # the 240-minute repeat interval has passed
    assert engine.run_rule("overdue_delivery").messages == 1
    deliver(desk, sender)
    assert sender.sent[1].text.startswith(header(desk, "overdue_delivery", 1, 0, 1, 1))
    assert engine.run_rule("overdue_delivery").messages == 0

    clock.advance(minutes=30)
    with desk.sessions() as session, session.begin():
        shipment = session.get(Shipment, "7001")
        assert shipment is not None
        shipment.status, shipment.delivered_at = "delivered", clock()
    done = engine.run_rule("overdue_delivery")
    assert (done.firing, done.resolved, done.messages) == (0, 1, 1)
    deliver(desk, sender)
    resolved = sender.sent[2]
    title = text(desk, "alerts.rule.overdue_delivery")
    assert resolved.text.startswith(text(desk, "alerts.resolved.header", rule=title, count=1))
    assert "7001" in resolved.text and resolved.buttons == []
    stored = state_of(desk, "overdue_delivery:7001")
    assert stored is not None and stored.state == "resolved" and stored.resolved_at == clock()
    clock.advance(hours=5)
    assert engine.run_rule("overdue_delivery").messages == 0  # resolved once, then quiet
    assert len(sender.sent) == 3


def test_silenced_rule_stays_quiet_and_speaks_after_the_silence(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    reply = say(desk, "/alerts silence overdue_delivery 2h carrier strike", user="s1", **STAFF)
    assert "overdue_delivery" in reply[0].text
    late_delivery(desk)
    quiet = engine.run_rule("overdue_delivery")
    assert (quiet.firing, quiet.told, quiet.messages) == (1, 0, 0)
    assert state_of(desk, "overdue_delivery:7001").state == "firing"  # type: ignore[union-attr]
    clock.advance(minutes=119)
    assert engine.run_rule("overdue_delivery").messages == 0
    clock.advance(minutes=2)  # the silence has ended
    spoke = engine.run_rule("overdue_delivery")
    assert (spoke.told, spoke.messages) == (1, 1)
    sender = RecordingSender()
    deliver(desk, sender)
    assert sender.sent[0].text.startswith(header(desk, "overdue_delivery", 1, 1, 0, 1))


def test_fingerprint_silence_mutes_one_alert_only(desk: App, engine: AlertEngine) -> None:
    say(desk, "/alerts silence overdue_delivery:7001 1d", user="s1", **STAFF)
    late_delivery(desk, "7001")
    late_delivery(desk, "7002")
    assert engine.run_rule("overdue_delivery").told == 1
    sender = RecordingSender()
    deliver(desk, sender)
    assert "7002" in sender.sent[0].text and "7001" not in sender.sent[0].text


def test_five_hundred_late_orders_make_one_message(desk: App, engine: AlertEngine) -> None:
    with desk.sessions() as session, session.begin():
        for number in range(500):
            country = ("DE", "FR", "US")[number % 3]
            add_order(session, str(20000 + number), paid_at=NOW - timedelta(days=4 + number % 9),
                      country=country)  # fmt: skip
    run = engine.run_rule("unshipped")
    assert (run.firing, run.told, run.messages) == (500, 500, 1)
    sender = RecordingSender()
    assert deliver(desk, sender) == 1
    message = sender.sent[0].text
    assert message.startswith(header(desk, "unshipped", 500, 500, 0, 500))
    assert text(desk, "alerts.more", count=490) in message
    assert text(desk, "alerts.counts.country", counts="DE 167 · FR 167 · US 166") in message
    listed = [line for line in message.splitlines() if "/order" in line]
    assert len(listed) == 10
    assert all("paid 12 days ago" in line for line in listed[:10])  # the oldest first
    assert sender.sent[0].buttons[0][0][1].startswith("ack:unshipped@")


def test_failing_notifier_delivers_exactly_once_after_recovering(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    late_delivery(desk)
    engine.run_rule("overdue_delivery")
    sender = RecordingSender(fail=3)
    for attempt in range(1, 4):
        assert deliver(desk, sender) == 0
        assert deliver(desk, sender) == 0  # backing off: not due yet
        clock.advance(seconds=2**attempt + 1)  # past the backoff of this attempt
    assert deliver(desk, sender) == 1
    clock.advance(hours=1)
    assert deliver(desk, sender) == 0
    assert sender.attempts == 4 and len(sender.sent) == 1
    (row,) = outbox_rows(desk, "alert.firing")
    assert row.sent_at is not None and row.attempts == 4


def test_restart_between_state_change_and_delivery_delivers_once(
    desk: App, clock: ManualClock
) -> None:
    late_delivery(desk)
    build_engine(desk).run_rule("overdue_delivery")  # state and outbox row committed together
    desk.close()  # the process dies before delivering

    restarted = build_app(desk.settings, clock=clock, staff_channels=["console"],
                          knowledge=desk.knowledge)  # fmt: skip
    try:
        sender = RecordingSender()
        deliverer = Deliverer(restarted.sessions, {"console": sender}, clock=clock)
        assert asyncio.run(deliverer.run_once()) == 1
        assert asyncio.run(deliverer.run_once()) == 0
        assert build_engine(restarted).run_rule("overdue_delivery").messages == 0
        assert asyncio.run(deliverer.run_once()) == 0
        assert len(sender.sent) == 1 and "7001" in sender.sent[0].text
    finally:
        restarted.close()


def test_acknowledge_stops_repeats_until_severity_changes(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    sender = unshipped_and_told(desk, engine, "8001")
    ack_action = sender.sent[0].buttons[0][0][1]
    denied = press(desk, ack_action, user="c1")  # a customer cannot acknowledge
    assert state_of(desk, "unshipped:8001").acked_by is None  # type: ignore[union-attr]
    assert denied and "8001" not in denied[0].text
    reply = press(desk, ack_action, user="s1", **STAFF)
    assert "Mia" in reply[0].text
    assert state_of(desk, "unshipped:8001").acked_by == "Mia"  # type: ignore[union-attr]
    for _ in range(3):
        clock.advance(hours=5)  # past the repeat interval each time
        assert engine.run_rule("unshipped").messages == 0
    clock.advance(days=6)  # over 3 + 7 days unshipped: critical, a change worth telling
    changed = engine.run_rule("unshipped")
    assert (changed.told, changed.messages) == (1, 1)
    stored = state_of(desk, "unshipped:8001")
    assert stored is not None and stored.severity == "critical" and stored.acked_by is None


def test_ack_from_an_old_message_spares_alerts_that_started_later(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    sender = unshipped_and_told(desk, engine, "8001")
    clock.advance(minutes=30)
    with desk.sessions() as session, session.begin():
        add_order(session, "8002", paid_at=NOW - timedelta(days=4))
    engine.run_rule("unshipped")
    press(desk, sender.sent[0].buttons[0][0][1], user="s1", **STAFF)
    assert state_of(desk, "unshipped:8001").acked_by == "Mia"  # type: ignore[union-attr]
    assert state_of(desk, "unshipped:8002").acked_by is None  # type: ignore[union-attr]


def test_silence_button_and_resolution_while_silenced_stay_quiet(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    late_delivery(desk)
    engine.run_rule("overdue_delivery")
    sender = RecordingSender()
    deliver(desk, sender)
    silence_action = sender.sent[0].buttons[0][1][1]
    assert silence_action == "silence:overdue_delivery:4h"
    reply = press(desk, silence_action, user="s1", **STAFF)
    assert "overdue_delivery" in reply[0].text
    clock.advance(hours=3, minutes=59)  # the silence lasts 4h
    assert engine.run_rule("overdue_delivery").messages == 0
    with desk.sessions() as session, session.begin():
        shipment = session.get(Shipment, "7001")
        assert shipment is not None
        shipment.status, shipment.delivered_at = "delivered", clock()
    gone = engine.run_rule("overdue_delivery")
    assert (gone.resolved, gone.messages) == (1, 0)  # resolved, but silenced: no notice
    with desk.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert rows == 1


def test_resolved_alert_that_fires_again_is_new_and_old_ones_are_forgotten(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    late_delivery(desk)
    engine.run_rule("overdue_delivery")
    press(desk, "ack:overdue_delivery:7001", user="s1", **STAFF)
    assert state_of(desk, "overdue_delivery:7001").acked_by == "Mia"  # type: ignore[union-attr]

    def set_status(status: str) -> None:
        with desk.sessions() as session, session.begin():
            shipment = session.get(Shipment, "7001")
            assert shipment is not None
            shipment.status = status

    set_status("lost")  # no longer in flight for this rule: resolved
    assert engine.run_rule("overdue_delivery").resolved == 1
    stored = state_of(desk, "overdue_delivery:7001")
    assert stored is not None and stored.acked_by is None  # an ack ends with the alert
    clock.advance(hours=1)
    set_status("in_transit")  # found again: a new alert, told at once despite the old ack
    again = engine.run_rule("overdue_delivery")
    assert (again.told, again.messages) == (1, 1)
    assert state_of(desk, "overdue_delivery:7001").started_at == clock()  # type: ignore[union-attr]
    set_status("delivered")
    engine.run_rule("overdue_delivery")
    clock.advance(days=7, minutes=1)  # resolved_retention_days later
    engine.run_rule("overdue_delivery")
    assert state_of(desk, "overdue_delivery:7001") is None


def test_one_process_evaluates_a_rule_at_a_time(desk: App, engine: AlertEngine) -> None:
    if desk.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself; the advisory lock is PostgreSQL's")
    with desk.sessions() as session, session.begin():
        assert alert_state.lock_rule(session, "unshipped")  # another replica is evaluating
        assert engine.run_rule("unshipped").ran is False
        assert engine.run_rule("low_stock").ran is True  # other rules are not held up
    assert engine.run_rule("unshipped").ran is True


def test_runs_within_one_second_announce_every_late_order_exactly_once(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    orders = []
    for run in range(5):  # five runs in one second, the last two at the very same instant
        with desk.sessions() as session, session.begin():
            for number in range(5):
                orders.append(f"9{run}{number:02d}")
                add_order(session, orders[-1], paid_at=NOW - timedelta(days=4))
        report = engine.run_rule("unshipped")
        assert (report.told, report.messages) == (5, 1)
        if run < 3:
            clock.advance(microseconds=200_000)
    assert clock().replace(microsecond=0) == NOW
    sender = RecordingSender()
    assert deliver(desk, sender) == 5
    listed = [line for message in sender.sent for line in message.text.splitlines()]
    for order in orders:
        assert sum(f"/order {order} " in f"{line} " for line in listed) == 1, order
    assert {state_of(desk, f"unshipped:{o}").state for o in orders} == {"notified"}  # type: ignore[union-attr]
    assert engine.run_rule("unshipped").messages == 0  # all told, nothing more to say


def test_an_alert_forgotten_after_retention_is_told_when_it_fires_again(
    desk: App, engine: AlertEngine, clock: ManualClock
) -> None:
    late_delivery(desk)
    sender = RecordingSender()
    assert engine.run_rule("overdue_delivery").messages == 1

    def set_status(status: str) -> None:
        with desk.sessions() as session, session.begin():
            shipment = session.get(Shipment, "7001")
            assert shipment is not None
            shipment.status = status

    set_status("lost")
    assert engine.run_rule("overdue_delivery").resolved == 1
    clock.advance(days=7, minutes=1)
    engine.run_rule("overdue_delivery")  # the resolved alert is forgotten
    assert state_of(desk, "overdue_delivery:7001") is None
    set_status("in_transit")  # the same fingerprint fires again, a new row from step one
    assert engine.run_rule("overdue_delivery").messages == 1
    assert deliver(desk, sender) == 3  # fired, resolved, fired again: three messages
