"""``/alerts`` for staff through the Router: listing, silences, unsilence, buttons, bad input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerts.lifecycle import AlertEngine
from bot.app import App
from handlers.staff_alerts import parse_duration
from store.alert_state import RULES
from store.clock import ManualClock
from store.models import AlertState, Silence
from tests.alerts.conftest import NOW, add_order
from tests.handlers.conversation import press, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Mia"}


def text(app: App, key: str, **values: object) -> str:
    return app.knowledge.texts.get(key, "en", **values)


def staff(app: App, line: str) -> str:
    (reply,) = say(app, line, user="s1", **STAFF)
    assert reply.language == "en"
    return reply.text


def silences(app: App) -> list[Silence]:
    with app.sessions() as session:
        return list(session.scalars(select(Silence).order_by(Silence.id)))


def test_listing_shows_active_alerts_and_silences(desk: App, engine: AlertEngine) -> None:
    assert staff(desk, "/alerts") == text(desk, "alerts.list.none")
    with desk.sessions() as session, session.begin():
        for number in range(7):
            add_order(session, f"90{number}", paid_at=NOW - timedelta(days=4 + number))
    engine.run_rule("unshipped")
    staff(desk, "/alerts silence low_stock 2h restocking today")
    listing = staff(desk, "/alerts")
    title = text(desk, "alerts.rule.unshipped")
    assert text(desk, "alerts.list.rule", rule=title, active=7, critical=1, acked=0) in listing
    assert "906" in listing  # the critical one is listed first
    assert text(desk, "alerts.list.more", count=2) in listing
    assert (
        "low_stock" in listing and "restocking today" in listing and "2026-03-10 12:00" in listing
    )


def test_silence_command_validates_and_records(desk: App, clock: ManualClock) -> None:
    unknown = staff(desk, "/alerts silence unshiped 2h")
    rules = ", ".join(RULES)
    assert unknown == text(desk, "alerts.silence.unknown", matcher="unshiped", rules=rules)
    assert staff(desk, "/alerts silence unshipped: 2h").startswith(unknown[:10])
    for bad in ("2x", "0m", "31d", "-1h", "h", "99999999d"):
        reply = staff(desk, f"/alerts silence unshipped {bad}")
        assert reply == text(desk, "alerts.silence.bad_duration", duration=bad, max_days=30)
    assert silences(desk) == []
    created = staff(desk, "/alerts silence unshipped:10234 1h30m <b>customer called</b> 📦 שלום")
    (silence,) = silences(desk)
    assert silence.matcher == "unshipped:10234" and silence.ends_at == clock() + timedelta(
        minutes=90
    )
    assert silence.reason == "<b>customer called</b> 📦 שלום" and silence.created_by == "staff"
    assert created == text(desk, "alerts.silence.created", matcher="unshipped:10234",
                           ends="2026-03-10 11:30", id=silence.id)  # fmt: skip
    huge = staff(desk, "/alerts silence low_stock 1d " + "x" * 5000)
    assert "low_stock" in huge and len(silences(desk)[-1].reason) == 500


def test_unsilence_ends_a_silence_now(desk: App, clock: ManualClock) -> None:
    staff(desk, "/alerts silence days_of_cover 1d")
    (silence,) = silences(desk)
    clock.advance(minutes=10)
    ended = staff(desk, f"/alerts unsilence {silence.id}")
    assert ended == text(desk, "alerts.silence.ended", id=silence.id, matcher="days_of_cover")
    assert silences(desk)[0].ends_at == clock()
    again = staff(desk, f"/alerts unsilence #{silence.id}")
    assert again == text(desk, "alerts.silence.not_found", id=silence.id)
    assert staff(desk, "/alerts unsilence nonsense") == text(
        desk, "alerts.silence.not_found", id="nonsense"
    )


def test_usage_for_unknown_or_incomplete_subcommands(desk: App) -> None:
    usage = text(desk, "alerts.usage", rules=", ".join(RULES))
    for line in ("/alerts frobnicate", "/alerts silence", "/alerts silence unshipped",
                 "/alerts unsilence"):  # fmt: skip
        assert staff(desk, line) == usage


def test_only_staff_may_use_alerts(desk: App) -> None:
    in_group = say(desk, "/alerts silence unshipped 1h", user="x", in_staff_chat=True)
    assert in_group[0].text == text(desk, "staff.only")
    private = say(desk, "/alerts silence unshipped 1h", user="c1")
    assert private[0].text == text(desk, "staff.only")
    button = press(desk, "silence:unshipped:4h", user="c1")
    assert button[0].text == text(desk, "staff.only")
    assert silences(desk) == []


def test_ack_buttons_by_fingerprint_rule_and_garbage(desk: App, engine: AlertEngine) -> None:
    with desk.sessions() as session, session.begin():
        add_order(session, "8001", paid_at=NOW - timedelta(days=4))
        add_order(session, "8002", paid_at=NOW - timedelta(days=4))
    engine.run_rule("unshipped")
    one = press(desk, "ack:unshipped:8001", user="s1", **STAFF)
    assert one[0].text == text(desk, "alerts.ack.done", agent="Mia", count=1,
                               rule=text(desk, "alerts.rule.unshipped"))  # fmt: skip
    every = press(desk, "ack:unshipped", user="s1", **STAFF)
    assert "2" in every[0].text
    with desk.sessions() as session:
        assert all(s.acked_by == "Mia" for s in session.scalars(select(AlertState)))
    for garbage in ("ack:", "ack:nope", "ack:unshipped@yesterday", "ack:@", "silence:", "ack:💥"):
        reply = press(desk, garbage, user="s1", **STAFF)
        assert reply and reply[0].text  # an answer, never a crash
    nothing = press(desk, "ack:low_stock@20260310100000", user="s1", **STAFF)
    assert nothing[0].text == text(desk, "alerts.ack.none")


def test_parse_duration() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration(" 45M ") == timedelta(minutes=45)
    assert parse_duration("30d") == timedelta(days=30)
    for bad in ("", "2", "2 h", "1w", "31d", "0h", "1.5h"):
        assert parse_duration(bad) is None
