"""Writing a checked import in chunks: a few bulk statements and one commit per chunk.

Each chunk is one short transaction, so on SQLite (one writer at a time) the live bot waits
at most for one chunk before its own write goes in, instead of for the whole file. Rows are
written with ``executemany`` and ``ON CONFLICT`` upserts (:mod:`store.upsert`): no ORM object
and no round trip per row. An order's lines are replaced as a whole the first time the file
names the order: its old lines are deleted and the file's inserted, and a shipment the file no
longer names is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from store.models import Customer, Order, OrderItem, Product, Shipment
from store.upsert import execute_many, insert_ignoring, upsert


def _table(model: Any) -> Table:
    """The Core table of ``model`` (statements on it skip the ORM's per-row work)."""
    return model.metadata.tables[model.__tablename__]


ORDERS, ORDER_ITEMS, SHIPMENTS, PRODUCTS, CUSTOMERS = map(
    _table, (Order, OrderItem, Shipment, Product, Customer)
)
IN_LIST = 500  # keys per IN (...) list: far below every database's limit on parameters
ORDER_UPDATES = [c.name for c in ORDERS.columns if c.name != "id"]
SHIPMENT_UPDATES = [c.name for c in SHIPMENTS.columns if c.name != "order_id"]
PRODUCT_UPDATES = [
    "name",
    "warehouse",
    "on_hand",
    "reserved",
    "reorder_point",
    "lead_time_days",
    "daily_sales",
]


@dataclass
class OrderChunk:
    """The orders of one chunk (those whose first line is in it) and every line of it.

    ``scattered`` names the orders of the chunk whose lines are spread over the file: their
    later lines come in later chunks, so their stored lines are always replaced.
    """

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    scattered: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.orders)


def _slices(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), IN_LIST):
        yield keys[start : start + IN_LIST]


def existing_keys(session: Session, column: Any, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are stored in ``column`` (asked in slices of :data:`IN_LIST`)."""
    wanted = list(keys)
    found: set[str] = set()
    for part in _slices(wanted):
        found.update(session.scalars(select(column).where(column.in_(part))))
    return found


def write_orders(session: Session, chunk: OrderChunk) -> tuple[int, int]:
    """Write ``chunk`` in the caller's transaction; (created, updated) orders.

    An order stored before keeps its lines when the file gives the same ones (compared as a
    multiset of SKU and quantity); otherwise they are replaced.
    """
    ids = list(chunk.orders)
    customer_ids = _customer_ids(session, chunk.customers)
    existing = existing_keys(session, Order.id, ids)
    rows = [
        {**order, "customer_id": customer_ids[order["email"].lower()]}
        for order in chunk.orders.values()
    ]
    execute_many(session, upsert(session, ORDERS, ["id"], ORDER_UPDATES), ORDERS, rows)
    replaced = _changed_lines(session, chunk, existing) | (existing & chunk.scattered)
    for part in _slices(sorted(replaced)):
        session.execute(delete(OrderItem).where(OrderItem.order_id.in_(part)))
    kept = existing - replaced
    items = [item for item in chunk.items if item["order_id"] not in kept]
    execute_many(session, ORDER_ITEMS.insert(), ORDER_ITEMS, items)
    shipments = [s for s in chunk.shipments.values() if s is not None]
    if shipments:
        shipped = upsert(session, SHIPMENTS, ["order_id"], SHIPMENT_UPDATES)
        execute_many(session, shipped, SHIPMENTS, shipments)
    gone = sorted(i for i in existing if chunk.shipments.get(i) is None)
    for part in _slices(gone):
        session.execute(delete(Shipment).where(Shipment.order_id.in_(part)))
    return len(ids) - len(existing), len(existing)


def _changed_lines(session: Session, chunk: OrderChunk, existing: set[str]) -> set[str]:
    """The stored orders of ``chunk`` whose stored lines differ from the file's."""
    compared = sorted(existing - chunk.scattered)
    stored: dict[str, list[tuple[str, int]]] = {}
    for part in _slices(compared):
        query = select(OrderItem.order_id, OrderItem.sku, OrderItem.quantity).where(
            OrderItem.order_id.in_(part)
        )
        for order_id, sku, quantity in session.execute(query):
            stored.setdefault(order_id, []).append((sku, quantity))
    given: dict[str, list[tuple[str, int]]] = {}
    for item in chunk.items:
        given.setdefault(item["order_id"], []).append((item["sku"], item["quantity"]))
    return {i for i in compared if sorted(stored.get(i, [])) != sorted(given.get(i, []))}


def _customer_ids(session: Session, wanted: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The customer id of each e-mail in ``wanted`` (lower-case), the new ones inserted with
    ``ON CONFLICT DO NOTHING`` on the e-mail, so an import running beside another one (or
    beside the bot) never fails on it."""

    def stored(emails: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for part in _slices(emails):
            query = select(Customer.email, Customer.id).where(Customer.email.in_(part))
            found.update((email, id_) for email, id_ in session.execute(query))
        return found

    found = stored(list(wanted))
    new = sorted(email for email in wanted if email not in found)
    if new:
        new_rows = [wanted[e] for e in new]
        execute_many(session, insert_ignoring(session, CUSTOMERS, ["email"]), CUSTOMERS, new_rows)
        found.update(stored(new))
    return found


def write_products(session: Session, products: list[dict[str, Any]]) -> tuple[int, int]:
    """Upsert ``products`` (one chunk) in the caller's transaction; (created, updated)."""
    existing = existing_keys(session, Product.sku, (p["sku"] for p in products))
    execute_many(session, upsert(session, PRODUCTS, ["sku"], PRODUCT_UPDATES), PRODUCTS, products)
    return len(products) - len(existing), len(existing)
