"""Each rule's SQL finds exactly the right orders or SKUs on a small hand-made shop, with the
edge cases on every threshold (just over, exactly at, just under)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from alerts.rules import Alert, Rule, build_rules
from alerts.settings import AlertSettings
from bot.app import App
from tests.alerts.conftest import NOW, add_order, add_product, add_shipment

MINUTE = timedelta(minutes=1)
RULES = build_rules(AlertSettings(handling_days=3, grace_days=2, stale_scan_days=5))


def found(app: App, rule: Rule) -> dict[str, Alert]:
    with app.sessions() as session:
        alerts = list(rule.evaluate(session, NOW))
    by_subject = {alert.subject: alert for alert in alerts}
    assert len(by_subject) == len(alerts), "a rule yields each subject once"
    return by_subject


def fill(app: App, build) -> None:  # type: ignore[no-untyped-def]
    with app.sessions() as session, session.begin():
        build(session)


def test_unshipped_after_handling_days_of_payment(desk: App) -> None:
    def build(s: Session) -> None:
        add_order(s, "late", paid_at=NOW - timedelta(days=3) - MINUTE)
        add_order(s, "at-edge", paid_at=NOW - timedelta(days=3))
        add_order(s, "fresh", paid_at=NOW - timedelta(days=3) + MINUTE)
        add_order(s, "very-late", status="processing", paid_at=NOW - timedelta(days=10))
        add_order(s, "labelled", status="processing", paid_at=NOW - timedelta(days=5))
        add_shipment(s, "labelled", status="pending", shipped_at=None)  # label, not shipped
        add_order(s, "shipped", paid_at=NOW - timedelta(days=5))
        add_shipment(s, "shipped", shipped_at=NOW - timedelta(days=1))
        add_order(s, "cancelled", status="cancelled", paid_at=NOW - timedelta(days=9))
        add_order(s, "unpaid", status="pending", paid_at=None)

    fill(desk, build)
    alerts = found(desk, RULES["unshipped"])
    assert set(alerts) == {"late", "very-late", "labelled"}
    assert alerts["late"].severity == "warning" and alerts["late"].facts["days"] == 3
    assert alerts["very-late"].severity == "critical"  # 3 handling + 7 critical days
    assert alerts["late"].fingerprint == "unshipped:late"
    assert alerts["very-late"].facts["country"] == "DE"


def test_overdue_delivery_past_promise_plus_grace(desk: App) -> None:
    today = NOW.date()

    def build(s: Session) -> None:
        add_shipment(s, "late", promised=today - timedelta(days=3))
        add_shipment(s, "at-grace", promised=today - timedelta(days=2))
        add_shipment(s, "in-grace", promised=today - timedelta(days=1))
        add_shipment(s, "customs", status="customs_hold", promised=today - timedelta(days=3))
        add_shipment(s, "long-late", promised=today - timedelta(days=20), carrier="UPS")
        add_shipment(
            s,
            "delivered",
            status="delivered",
            promised=today - timedelta(days=9),
            delivered_at=NOW - timedelta(days=1),
        )
        add_shipment(s, "lost", status="lost", promised=today - timedelta(days=9))
        add_shipment(s, "not-shipped", status="pending", shipped_at=None,
                     promised=date(2026, 3, 1))  # fmt: skip

    fill(desk, build)
    alerts = found(desk, RULES["overdue_delivery"])
    assert set(alerts) == {"late", "customs", "long-late"}
    assert alerts["late"].facts["days_late"] == 3 and alerts["late"].severity == "warning"
    assert alerts["long-late"].severity == "critical"
    assert alerts["long-late"].facts["carrier"] == "UPS"
    assert alerts["late"].facts["promised"] == (today - timedelta(days=3)).isoformat()


def test_stale_tracking_without_a_scan(desk: App) -> None:
    def build(s: Session) -> None:
        shipped = NOW - timedelta(days=8)
        add_shipment(s, "silent", shipped_at=shipped, last_scan_at=NOW - timedelta(days=5) - MINUTE)
        add_shipment(s, "at-edge", shipped_at=shipped, last_scan_at=NOW - timedelta(days=5))
        add_shipment(s, "recent", shipped_at=shipped, last_scan_at=NOW - timedelta(days=4))
        add_shipment(s, "never", status="pending", shipped_at=shipped, last_scan_at=None)
        add_shipment(s, "never-new", status="pending", shipped_at=NOW - timedelta(days=1),
                     last_scan_at=None)  # fmt: skip
        add_shipment(s, "long-silent", shipped_at=NOW - timedelta(days=30),
                     last_scan_at=NOW - timedelta(days=20))  # fmt: skip
        add_shipment(s, "delivered", status="delivered", shipped_at=shipped,
                     last_scan_at=shipped, delivered_at=shipped)  # fmt: skip
        add_shipment(s, "held", status="customs_hold", shipped_at=shipped, last_scan_at=shipped)

    fill(desk, build)
    alerts = found(desk, RULES["stale_tracking"])
    assert set(alerts) == {"silent", "never", "long-silent"}
    assert alerts["silent"].facts["days"] == 5 and alerts["silent"].severity == "warning"
    assert alerts["never"].facts["last_scan"] is None and alerts["never"].facts["days"] == 8
    assert alerts["long-silent"].severity == "critical"


def test_carrier_exceptions(desk: App) -> None:
    def build(s: Session) -> None:
        for status in ("exception", "lost", "returned", "customs_hold", "in_transit"):
            add_shipment(s, status, status=status)
        add_shipment(s, "delivered", status="delivered", delivered_at=NOW)

    fill(desk, build)
    alerts = found(desk, RULES["carrier_exception"])
    assert set(alerts) == {"exception", "lost", "returned", "customs_hold"}
    assert {s for s, a in alerts.items() if a.severity == "critical"} == {"lost"}
    assert alerts["returned"].facts["status"] == "returned"


def test_low_stock_at_or_below_reorder_point(desk: App) -> None:
    def build(s: Session) -> None:
        add_product(s, "AT-POINT", on_hand=15, reserved=5, reorder_point=10)
        add_product(s, "ABOVE", on_hand=16, reserved=5, reorder_point=10)
        add_product(s, "OVERSOLD", on_hand=3, reserved=5, reorder_point=10, warehouse="PL-POZ")
        add_product(s, "ZERO-POINT", on_hand=1, reserved=0, reorder_point=0)

    fill(desk, build)
    alerts = found(desk, RULES["low_stock"])
    assert set(alerts) == {"AT-POINT", "OVERSOLD"}
    assert alerts["AT-POINT"].severity == "warning" and alerts["AT-POINT"].facts["available"] == 10
    assert alerts["OVERSOLD"].severity == "critical" and alerts["OVERSOLD"].facts["available"] == -2
    assert alerts["OVERSOLD"].facts["warehouse"] == "PL-POZ"


def test_days_of_cover_below_lead_time(desk: App) -> None:
    def build(s: Session) -> None:  # 2 a day, 10 days lead time: 20 units last the lead time
        kwargs = {"daily_sales": 2.0, "lead_time_days": 10, "reorder_point": 0}
        add_product(s, "SHORT", on_hand=19, **kwargs)
        add_product(s, "EXACT", on_hand=20, **kwargs)
        add_product(s, "HALF", on_hand=10, **kwargs)
        add_product(s, "UNDER-HALF", on_hand=12, reserved=3, **kwargs)
        add_product(s, "NO-SALES", on_hand=0, daily_sales=0.0, lead_time_days=10)

    fill(desk, build)
    alerts = found(desk, RULES["days_of_cover"])
    assert set(alerts) == {"SHORT", "HALF", "UNDER-HALF"}
    assert alerts["SHORT"].facts["cover"] == 9.5 and alerts["SHORT"].severity == "warning"
    assert alerts["HALF"].severity == "warning"  # 5.0 days: not below half the lead time
    assert (
        alerts["UNDER-HALF"].severity == "critical" and alerts["UNDER-HALF"].facts["cover"] == 4.5
    )


def test_out_of_stock_with_open_orders_waiting(desk: App) -> None:
    def build(s: Session) -> None:
        add_product(s, "EMPTY", on_hand=2, reserved=2)
        add_product(s, "OVERSOLD", on_hand=0, reserved=1)
        add_product(s, "EMPTY-NO-ORDERS", on_hand=0)
        add_product(s, "ONE-LEFT", on_hand=1)
        paid = NOW - timedelta(days=1)
        add_order(s, "w1", paid_at=paid, items=(("EMPTY", 1), ("ONE-LEFT", 1)))
        add_order(s, "w2", status="processing", paid_at=paid, items=(("EMPTY", 2),))
        add_order(s, "w3", status="processing", paid_at=paid, items=(("OVERSOLD", 1),))
        add_order(s, "sent", status="in_transit", paid_at=paid, items=(("EMPTY", 5),))
        add_order(s, "gone", status="cancelled", paid_at=paid, items=(("EMPTY-NO-ORDERS", 1),))
        add_order(s, "unpaid", status="pending", items=(("EMPTY-NO-ORDERS", 1),))

    fill(desk, build)
    alerts = found(desk, RULES["out_of_stock_with_orders"])
    assert set(alerts) == {"EMPTY", "OVERSOLD"}
    assert (alerts["EMPTY"].facts["orders"], alerts["EMPTY"].facts["units"]) == (2, 3)
    assert alerts["OVERSOLD"].facts["available"] == -1
    assert all(alert.severity == "critical" for alert in alerts.values())


def test_rules_stream_in_batches_and_register_under_their_names(desk: App) -> None:
    def build(s: Session) -> None:
        for number in range(2500):  # more than one batch of the streamed query
            add_order(s, f"o{number:05d}", paid_at=NOW - timedelta(days=4))

    fill(desk, build)
    assert len(found(desk, RULES["unshipped"])) == 2500
    assert [rule.name for rule in RULES.values()] == list(RULES)
