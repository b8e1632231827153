"""The alert rules: each asks the store one SQL question and yields an :class:`Alert` per answer.

A rule is a small class with one job. Its query filters on indexed columns (see migration
``0002_alert_indexes``: partial covering indexes over open orders and undelivered parcels) and
is streamed in batches (``yield_per``: a server-side cursor on PostgreSQL, lazy stepping on
SQLite), so a run holds one batch of rows at a time however many orders the shop has.

Every alert has a stable fingerprint, ``<rule>:<order id or sku>``, so the lifecycle can tell
a new problem from one it already announced. ``score`` orders alerts within a message (the
worst first); ``facts`` carry what the message shows and are stored with the alert state, so
they hold only JSON values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from alerts.settings import AlertSettings
from store.alert_state import RULES
from store.models import Order, OrderItem, Product, Shipment

WARNING, CRITICAL = "warning", "critical"
SEVERITY_RANK = {CRITICAL: 0, WARNING: 1}  # lower is worse
OPEN_ORDER_STATUSES = ("paid", "processing")  # paid, waiting to ship (index ix_orders_open_paid)
IN_FLIGHT = ("pending", "in_transit", "exception", "customs_hold")  # may still be delivered
NO_SCAN = ("pending", "in_transit")  # statuses where a silent tracking number means trouble
CARRIER_EXCEPTIONS = ("exception", "lost", "returned", "customs_hold")
BATCH = 2000
DAY = 86400.0


class Alert(NamedTuple):
    """One problem found by one rule (a named tuple: a rule makes many, cheaply)."""

    fingerprint: str
    rule: str
    subject: str  # the order id or the sku
    severity: str  # warning | critical
    facts: dict[str, Any]
    score: float = 0.0  # larger is worse: orders alerts within a message


def _one_of(
    column: ColumnElement[str] | InstrumentedAttribute[str], values: tuple[str, ...]
) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written into the SQL, not bound: the partial indexes
    (``WHERE status IN ('paid', 'processing')``) serve a query only when the planner can see
    that its condition implies theirs, and a bound parameter hides that on SQLite."""
    values_in: BindParameter[list[str]] = bindparam(
        f"{column.key}_in", list(values), expanding=True, literal_execute=True
    )
    return column.in_(values_in)


def _iso(value: datetime | date | None) -> str | None:
    return (
        value.isoformat(timespec="minutes")
        if isinstance(value, datetime)
        else (value.isoformat() if value is not None else None)
    )


class Rule:
    """Base of the rules: stream the query's rows and turn each into an Alert."""

    name: ClassVar[str]
    group_by: ClassVar[tuple[str, ...]]  # facts the grouped message counts by

    def query(self, now: datetime) -> Select[Any]:
        """The SELECT whose rows are the alerts at ``now``."""
        raise NotImplementedError

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        """The alert for one row of :meth:`query`."""
        raise NotImplementedError

    def make(self, subject: str, severity: str, score: float, facts: dict[str, Any]) -> Alert:
        return Alert(f"{self.name}:{subject}", self.name, subject, severity, facts, score)

    def evaluate(self, session: Session, now: datetime) -> Iterator[Alert]:
        """Every alert of this rule at ``now``, streamed in batches (plain Core rows: the ORM
        adds nothing here but time)."""
        # yield_per per statement: Connection.execution_options() would change the session's
        # connection in place and turn every later statement into a server-side cursor.
        connection = session.connection()
        alert = self.alert
        for rows in connection.execute(
            self.query(now), execution_options={"yield_per": BATCH}
        ).partitions():
            for row in rows:
                yield alert(row, now)


# --- shipping ---------------------------------------------------------------------------------


class UnshippedRule(Rule):
    """Paid more than ``handling_days`` ago and not shipped."""

    name = "unshipped"
    group_by = ("country",)

    def __init__(self, handling_days: int, critical_days: int) -> None:
        self.handling = timedelta(days=handling_days)
        self.critical = timedelta(days=handling_days + critical_days)

    def query(self, now: datetime) -> Select[Any]:
        return (
            select(Order.id, Order.country, Order.paid_at)
            .outerjoin(Shipment, Shipment.order_id == Order.id)
            .where(
                _one_of(Order.status, OPEN_ORDER_STATUSES),
                Order.paid_at.is_not(None),
                Order.paid_at < now - self.handling,
                Shipment.shipped_at.is_(None),
            )
        )

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        order, country, paid_at = row
        waited = now - paid_at
        severity = CRITICAL if waited >= self.critical else WARNING
        return self.make(
            order,
            severity,
            waited.total_seconds() / DAY,
            {"order": order, "country": country, "days": waited.days, "paid": _iso(paid_at)},
        )


class OverdueDeliveryRule(Rule):
    """Shipped, not delivered, and the promised date plus ``grace_days`` has passed."""

    name = "overdue_delivery"
    group_by = ("carrier", "country")

    def __init__(self, grace_days: int, critical_days: int) -> None:
        self.grace = timedelta(days=grace_days)
        self.critical_days = critical_days

    def query(self, now: datetime) -> Select[Any]:
        due = now.date() - self.grace  # late once today is past promised + grace
        return (
            select(
                Shipment.order_id,
                Shipment.carrier,
                Shipment.tracking_number,
                Shipment.promised_delivery,
                Shipment.status,
                Order.country,
            )
            .join(Order, Order.id == Shipment.order_id)
            .where(
                _one_of(Shipment.status, IN_FLIGHT),
                Shipment.promised_delivery < due,
                Shipment.delivered_at.is_(None),
                Shipment.shipped_at.is_not(None),
            )
        )

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        order, carrier, tracking, promised, status, country = row
        late = (now.date() - promised).days
        past_grace = late - self.grace.days
        severity = CRITICAL if past_grace >= self.critical_days else WARNING
        return self.make(
            order,
            severity,
            float(late),
            {
                "order": order,
                "carrier": carrier or "",
                "tracking": tracking or "",
                "country": country,
                "promised": _iso(promised),
                "days_late": late,
                "status": status,
            },
        )


class StaleTrackingRule(Rule):
    """A parcel on its way whose tracking has said nothing for ``stale_scan_days``."""

    name = "stale_tracking"
    group_by = ("carrier", "country")

    def __init__(self, stale_scan_days: int, critical_days: int) -> None:
        self.stale = timedelta(days=stale_scan_days)
        self.critical = timedelta(days=stale_scan_days + critical_days)

    def query(self, now: datetime) -> Select[Any]:
        cutoff = now - self.stale
        columns = (
            Shipment.order_id,
            Shipment.carrier,
            Shipment.tracking_number,
            Shipment.last_scan_at,
            Shipment.shipped_at,
            Order.country,
        )
        open_parcel = and_(
            _one_of(Shipment.status, NO_SCAN),
            Shipment.delivered_at.is_(None),
            Shipment.shipped_at.is_not(None),
        )
        scanned_long_ago = (
            select(*columns)
            .join(Order, Order.id == Shipment.order_id)
            .where(open_parcel, Shipment.last_scan_at < cutoff)
        )
        never_scanned = (
            select(*columns)
            .join(Order, Order.id == Shipment.order_id)
            .where(open_parcel, Shipment.last_scan_at.is_(None), Shipment.shipped_at < cutoff)
        )
        # two index ranges rather than one OR, which would scan every open parcel
        both = union_all(scanned_long_ago, never_scanned).subquery()
        return select(*both.c)

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        order, carrier, tracking, last_scan, shipped_at, country = row
        silent = now - (last_scan or shipped_at)
        severity = CRITICAL if silent >= self.critical else WARNING
        return self.make(
            order,
            severity,
            silent.total_seconds() / DAY,
            {
                "order": order,
                "carrier": carrier or "",
                "tracking": tracking or "",
                "country": country,
                "last_scan": _iso(last_scan),
                "silent_since": _iso(last_scan or shipped_at),
                "days": silent.days,
            },
        )


class CarrierExceptionRule(Rule):
    """The carrier reports a problem: exception, lost, returned to sender, held at customs."""

    name = "carrier_exception"
    group_by = ("carrier", "country")
    CRITICAL_STATUSES = frozenset({"lost"})

    def query(self, now: datetime) -> Select[Any]:
        return (
            select(
                Shipment.order_id,
                Shipment.carrier,
                Shipment.tracking_number,
                Shipment.status,
                Shipment.shipped_at,
                Order.country,
            )
            .join(Order, Order.id == Shipment.order_id)
            .where(_one_of(Shipment.status, CARRIER_EXCEPTIONS), Shipment.delivered_at.is_(None))
        )

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        order, carrier, tracking, status, shipped_at, country = row
        severity = CRITICAL if status in self.CRITICAL_STATUSES else WARNING
        age = (now - shipped_at).total_seconds() / DAY if shipped_at else 0.0
        return self.make(
            order,
            severity,
            age,
            {
                "order": order,
                "carrier": carrier or "",
                "tracking": tracking or "",
                "country": country,
                "status": status,
            },
        )


# --- inventory --------------------------------------------------------------------------------

available_stock = Product.on_hand - Product.reserved
PRODUCT_COLUMNS = (Product.sku, Product.name, Product.names, Product.warehouse)


def _product_facts(
    sku: str, name: str, names: dict[str, Any] | None, warehouse: str
) -> dict[str, Any]:
    return {"sku": sku, "name": name, "names": names or {}, "warehouse": warehouse}


class LowStockRule(Rule):
    """Available stock (on hand minus reserved) at or below the reorder point."""

    name = "low_stock"
    group_by = ("warehouse",)

    def query(self, now: datetime) -> Select[Any]:
        return select(*PRODUCT_COLUMNS, available_stock, Product.reorder_point).where(
            available_stock <= Product.reorder_point
        )

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        sku, name, names, warehouse, available, reorder_point = row
        severity = CRITICAL if available <= 0 else WARNING
        return self.make(
            sku,
            severity,
            float(reorder_point - available),
            {
                **_product_facts(sku, name, names, warehouse),
                "available": available,
                "reorder_point": reorder_point,
            },
        )


class DaysOfCoverRule(Rule):
    """Available stock lasts fewer days than a reorder takes to arrive.

    Days of cover = available ÷ ``products.daily_sales``, the shop's own recent daily sales
    figure (a required column of the inventory import), not a rate computed from the orders
    in this store: the store holds the orders imported for customer service, which may be a
    subset of the shop's sales (one marketplace, a recent window), and a rate from them would
    make the rule read every order line of the window, so its cost would grow with the order
    count (seconds at a million orders) instead of being one pass over the products. Products
    that sell nothing (daily_sales 0) have unlimited cover and never alert here.
    """

    name = "days_of_cover"
    group_by = ("warehouse",)

    def query(self, now: datetime) -> Select[Any]:
        return select(
            *PRODUCT_COLUMNS, available_stock, Product.daily_sales, Product.lead_time_days
        ).where(
            Product.daily_sales > 0,
            available_stock < Product.daily_sales * Product.lead_time_days,  # cover < lead time
        )

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        sku, name, names, warehouse, available, daily_sales, lead_time = row
        cover = max(available, 0) / daily_sales
        severity = CRITICAL if cover < lead_time / 2 else WARNING
        return self.make(
            sku,
            severity,
            float(lead_time - cover),
            {
                **_product_facts(sku, name, names, warehouse),
                "available": available,
                "daily_sales": daily_sales,
                "cover": round(cover, 1),
                "lead_time": lead_time,
            },
        )


class OutOfStockWithOrdersRule(Rule):
    """Nothing available, and paid orders wait for the sku."""

    name = "out_of_stock_with_orders"
    group_by = ("warehouse",)

    def query(self, now: datetime) -> Select[Any]:
        def waiting(measure: Any) -> Any:
            # per out-of-stock product: its order lines (index ix_order_items_sku_order) that
            # belong to open orders; correlated, so the scan starts from the few empty products
            return (
                select(measure)
                .select_from(OrderItem)
                .join(Order, Order.id == OrderItem.order_id)
                .where(OrderItem.sku == Product.sku, _one_of(Order.status, OPEN_ORDER_STATUSES))
                .scalar_subquery()
            )

        inner = (
            select(
                *PRODUCT_COLUMNS,
                available_stock.label("available"),
                waiting(func.count(func.distinct(OrderItem.order_id))).label("orders"),
                waiting(func.sum(OrderItem.quantity)).label("units"),
            )
            .where(available_stock <= 0)
            .subquery()
        )
        return select(*inner.c).where(inner.c.orders > 0)

    def alert(self, row: Sequence[Any], now: datetime) -> Alert:
        sku, name, names, warehouse, available, orders, units = row
        return self.make(
            sku,
            CRITICAL,
            float(units or 0),
            {
                **_product_facts(sku, name, names, warehouse),
                "available": available,
                "orders": orders,
                "units": int(units or 0),
            },
        )


def build_rules(settings: AlertSettings) -> dict[str, Rule]:
    """Every rule, configured, by name in canonical order (enabled or not)."""
    critical = settings.critical_days
    rules: list[Rule] = [
        UnshippedRule(settings.handling_days, critical),
        OverdueDeliveryRule(settings.grace_days, critical),
        StaleTrackingRule(settings.stale_scan_days, critical),
        CarrierExceptionRule(),
        LowStockRule(),
        DaysOfCoverRule(),
        OutOfStockWithOrdersRule(),
    ]
    by_name = {rule.name: rule for rule in rules}
    assert tuple(by_name) == RULES, "store.alert_state.RULES must list every rule"
    return by_name
