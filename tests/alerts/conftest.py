"""Fixtures for the alert tests: a wired App with English staff texts, a hand-made shop, an
engine, and a channel sender that records (or fails) what it is asked to send."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from alerts.lifecycle import AlertEngine
from bot.alert_jobs import build_engine
from bot.app import App, Knowledge, build_app
from bot.config import Settings
from bot.delivery import Deliverer, Outgoing, PlatformRef
from store.clock import ManualClock
from store.models import Order, OrderItem, Product, Shipment


class RecordingSender:
    """A channel sender that remembers what it sent; ``fail`` makes the next sends raise."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[Outgoing] = []
        self.fail = fail
        self.attempts = 0

    async def send(self, message: Outgoing) -> PlatformRef:
        self.attempts += 1
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("chat API down")
        self.sent.append(message)
        return PlatformRef("staff", str(len(self.sent)))


def alert_settings(db_url: str, **alerts: Any) -> Settings:
    return Settings(store={"url": db_url}, support={"staff_language": "en"}, alerts=alerts)


@pytest.fixture
def desk(db_url: str, clock: ManualClock, knowledge: Knowledge) -> Iterator[App]:
    """An App whose staff read English and whose staff channel is the console."""
    app = build_app(
        alert_settings(db_url), clock=clock, staff_channels=["console"], knowledge=knowledge
    )
    yield app
    app.close()


@pytest.fixture
def engine(desk: App) -> AlertEngine:
    return build_engine(desk)


def deliver(app: App, sender: RecordingSender) -> int:
    """One delivery round through ``sender`` as the console channel; returns how many sent."""
    deliverer = Deliverer(app.sessions, {"console": sender}, clock=app.services.clock)
    return asyncio.run(deliverer.run_once())


# --- a hand-made shop -------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 10, 0)  # the clock fixture's time


def add_order(
    session: Session,
    order_id: str,
    *,
    status: str = "paid",
    paid_at: datetime | None = None,
    country: str = "DE",
    items: tuple[tuple[str, int], ...] = (("SKU-A", 1),),
) -> Order:
    order = Order(
        id=order_id,
        placed_at=(paid_at or NOW) - timedelta(minutes=5),
        paid_at=paid_at,
        email=f"{order_id}@example.com",
        customer_name="Test",
        country=country,
        postcode="10115",
        status=status,
        total=Decimal("10.00"),
        currency="EUR",
        items=[OrderItem(sku=sku, quantity=quantity) for sku, quantity in items],
    )
    session.add(order)
    return order


def add_shipment(
    session: Session,
    order_id: str,
    *,
    status: str = "in_transit",
    shipped_at: datetime | None = NOW - timedelta(days=3),
    promised: date | None = None,
    last_scan_at: datetime | str | None = "at shipping",
    delivered_at: datetime | None = None,
    carrier: str = "DHL",
    country: str = "DE",
) -> Shipment:
    if session.get(Order, order_id) is None:
        add_order(session, order_id, status="in_transit", paid_at=NOW - timedelta(days=5),
                  country=country)  # fmt: skip
    shipment = Shipment(
        order_id=order_id,
        carrier=carrier,
        tracking_number=f"JD{order_id}",
        shipped_at=shipped_at,
        promised_delivery=promised or (NOW.date() + timedelta(days=3)),
        last_scan_at=shipped_at if last_scan_at == "at shipping" else last_scan_at,
        delivered_at=delivered_at,
        status=status,
    )
    session.add(shipment)
    return shipment


def add_product(
    session: Session,
    sku: str,
    *,
    on_hand: int = 100,
    reserved: int = 0,
    reorder_point: int = 10,
    lead_time_days: int = 14,
    daily_sales: float = 1.0,
    warehouse: str = "CN-SZX",
) -> Product:
    product = Product(
        sku=sku,
        name=f"Product {sku}",
        names={"en": f"Product {sku}"},
        warehouse=warehouse,
        on_hand=on_hand,
        reserved=reserved,
        reorder_point=reorder_point,
        lead_time_days=lead_time_days,
        daily_sales=daily_sales,
    )
    session.add(product)
    return product
