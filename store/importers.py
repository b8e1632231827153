"""Importing orders and inventory from the shop's exports (CSV or JSON lines).

The column names are a public contract (README, "Importing data"). Every row is checked before
anything is written; a file with a bad row writes nothing and reports every bad row with its
file, line and reason. Re-importing updates rows by key (order id, sku).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.models import Customer, Order, OrderItem, Product, Shipment
from store.orders import ORDER_ID_RULES, order_key, valid_order_id
from store.upsert import insert_ignoring

ORDER_COLUMNS = (
    "order_id",
    "placed_at",
    "customer_email",
    "customer_name",
    "country",
    "postcode",
    "language",
    "status",
    "total",
    "currency",
    "carrier",
    "tracking_number",
    "shipped_at",
    "promised_delivery",
    "delivered_at",
    "last_scan_at",
    "sku",
    "quantity",
)
ORDER_REQUIRED = (
    "order_id",
    "placed_at",
    "customer_email",
    "country",
    "status",
    "total",
    "currency",
    "sku",
    "quantity",
)
ORDER_STATUSES = {
    "pending",
    "paid",
    "processing",
    "shipped",
    "in_transit",
    "delivered",
    "cancelled",
    "exception",
    "returned",
}
SHIPMENT_STATUSES = {
    "pending",
    "in_transit",
    "delivered",
    "exception",
    "lost",
    "returned",
    "customs_hold",
}
INVENTORY_COLUMNS = (
    "sku",
    "name",
    "on_hand",
    "reserved",
    "reorder_point",
    "lead_time_days",
    "daily_sales",
)


class ImportFileError(Exception):
    """A file could not be imported; ``problems`` lists every bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} bad row(s); nothing was imported")
        self.problems = problems


@dataclass
class ImportResult:
    """What an import wrote."""

    created: int = 0
    updated: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)


class RowError(ValueError):
    """One field of one row is wrong."""


def _read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a CSV (header line 1) or JSON-lines file."""
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                    continue
                if not isinstance(row, dict):
                    yield number, {"__error__": "a line must be a JSON object"}
                    continue
                yield number, row
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _datetime(row: dict[str, Any], key: str) -> datetime | None:
    value = _text(row, key)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{key}: {value!r} is not an ISO date or date-time") from exc
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _date(row: dict[str, Any], key: str) -> date | None:
    value = _datetime(row, key)
    return value.date() if value else None


def _number(row: dict[str, Any], key: str, kind: type, *, minimum: float = 0) -> Any:
    value = _text(row, key)
    if not value:
        raise RowError(f"{key}: missing")
    try:
        number = kind(value) if kind is not Decimal else Decimal(value)
    except (ValueError, InvalidOperation) as exc:
        raise RowError(f"{key}: {value!r} is not a number") from exc
    if number < minimum:
        raise RowError(f"{key}: {value} is below {minimum}")
    return number


def _check_columns(path: Path, first: dict[str, Any], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in first]
    if missing:
        raise ImportFileError([f"{path}:1: missing column(s) {', '.join(missing)}"])


def import_orders(session: Session, path: Path) -> ImportResult:
    """Import orders (one row per order line) from ``path`` into the caller's transaction."""
    orders: dict[str, dict[str, Any]] = {}
    spellings: dict[str, str] = {}  # order_key -> the id as first written in the file
    problems: list[str] = []
    result = ImportResult()
    for number, row in _read_rows(path):
        if "__error__" in row:
            problems.append(f"{path}:{number}: {row['__error__']}")
            continue
        if result.rows == 0:
            _check_columns(path, row, ORDER_REQUIRED)
        result.rows += 1
        try:
            parsed = _parse_order_row(row)
        except RowError as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        first_spelling = spellings.setdefault(order_key(parsed["id"]), parsed["id"])
        if first_spelling != parsed["id"]:
            problems.append(
                f"{path}:{number}: order_id: {parsed['id']!r} differs from order "
                f"{first_spelling!r} only in case; order ids are looked up in any case"
            )
            continue
        current = orders.get(parsed["id"])
        if current is None:
            orders[parsed["id"]] = parsed
        else:
            current["items"].extend(parsed["items"])
    if problems:
        raise ImportFileError(problems)
    customers = _customers_by_email(session, orders.values())
    existing = set(session.scalars(select(Order.id).where(Order.id.in_(list(orders)))))
    for order_id, data in orders.items():
        items, shipment = data.pop("items"), data.pop("shipment")
        customer = customers[data["email"].lower()]
        if order_id in existing:
            session.execute(delete(OrderItem).where(OrderItem.order_id == order_id))
            session.execute(delete(Shipment).where(Shipment.order_id == order_id))
            result.updated += 1
        else:
            result.created += 1
        session.merge(Order(customer_id=customer.id, **data))
        session.add_all(OrderItem(order_id=order_id, sku=s, quantity=q) for s, q in items)
        if shipment:
            session.add(Shipment(order_id=order_id, **shipment))
    session.flush()
    return result


def _parse_order_row(row: dict[str, Any]) -> dict[str, Any]:
    typed = _text(row, "order_id")
    if not typed:
        raise RowError("order_id: missing")
    order_id = valid_order_id(typed)
    if order_id is None:
        raise RowError(f"order_id: {typed[:60]!r} is not an order id: {ORDER_ID_RULES}")
    email = _text(row, "customer_email")
    if "@" not in email:
        raise RowError(f"customer_email: {email!r} is not an e-mail address")
    status = _text(row, "status").lower()
    if status not in ORDER_STATUSES:
        raise RowError(f"status: {status!r} is not one of {', '.join(sorted(ORDER_STATUSES))}")
    country = _text(row, "country").upper()
    if len(country) != 2:
        raise RowError(f"country: {country!r} is not a two-letter ISO country code")
    placed_at = _datetime(row, "placed_at")
    if placed_at is None:
        raise RowError("placed_at: missing")
    sku = _text(row, "sku")
    if not sku:
        raise RowError("sku: missing")
    quantity = _number(row, "quantity", int, minimum=1)
    shipped_at = _datetime(row, "shipped_at")
    delivered_at = _datetime(row, "delivered_at")
    shipment = None
    carrier, tracking = _text(row, "carrier"), _text(row, "tracking_number")
    if carrier or tracking or shipped_at:
        shipment_status = _text(row, "shipment_status").lower() or (
            "delivered"
            if delivered_at
            else "exception"
            if status == "exception"
            else "returned"
            if status == "returned"
            else "in_transit"
            if shipped_at
            else "pending"
        )
        if shipment_status not in SHIPMENT_STATUSES:
            raise RowError(f"shipment_status: {shipment_status!r} is not a known status")
        shipment = {
            "carrier": carrier or None,
            "tracking_number": tracking or None,
            "shipped_at": shipped_at,
            "promised_delivery": _date(row, "promised_delivery"),
            "last_scan_at": _datetime(row, "last_scan_at"),
            "delivered_at": delivered_at,
            "status": shipment_status,
        }
    return {
        "id": order_id,
        "placed_at": placed_at,
        "paid_at": _datetime(row, "paid_at") or (placed_at if status != "pending" else None),
        "email": email,
        "customer_name": _text(row, "customer_name"),
        "country": country,
        "postcode": _text(row, "postcode"),
        "language": _text(row, "language").lower() or None,
        "status": status,
        "total": _number(row, "total", Decimal),
        "currency": _text(row, "currency").upper() or "USD",
        "items": [(sku, quantity)],
        "shipment": shipment,
    }


def _customers_by_email(session: Session, orders: Any) -> dict[str, Customer]:
    """The customers of ``orders`` by e-mail, the new ones inserted (``ON CONFLICT DO
    NOTHING`` on the e-mail, so an import running beside another one never fails on it)."""
    wanted: dict[str, dict[str, Any]] = {}
    for data in orders:
        wanted.setdefault(data["email"].lower(), data)

    def stored(emails: list[str]) -> dict[str, Customer]:
        found: dict[str, Customer] = {}
        for start in range(0, len(emails), 1000):
            chunk = emails[start : start + 1000]
            found.update(
                (c.email, c)
                for c in session.scalars(select(Customer).where(Customer.email.in_(chunk)))
            )
        return found

    found = stored(list(wanted))
    new = sorted(email for email in wanted if email not in found)
    if new:
        rows = [
            {"email": e, "name": wanted[e]["customer_name"], "language": wanted[e]["language"]}
            for e in new
        ]
        session.execute(insert_ignoring(session, Customer, ["email"]), rows)
        found.update(stored(new))
    return found


def import_inventory(session: Session, path: Path) -> ImportResult:
    """Import the inventory position per SKU from ``path`` into the caller's transaction."""
    problems: list[str] = []
    products: dict[str, dict[str, Any]] = {}
    result = ImportResult()
    for number, row in _read_rows(path):
        if "__error__" in row:
            problems.append(f"{path}:{number}: {row['__error__']}")
            continue
        if result.rows == 0:
            _check_columns(path, row, INVENTORY_COLUMNS)
        result.rows += 1
        try:
            sku = _text(row, "sku")
            if not sku:
                raise RowError("sku: missing")
            products[sku] = {
                "sku": sku,
                "name": _text(row, "name") or sku,
                "on_hand": _number(row, "on_hand", int),
                "reserved": _number(row, "reserved", int),
                "reorder_point": _number(row, "reorder_point", int),
                "lead_time_days": _number(row, "lead_time_days", int),
                "daily_sales": _number(row, "daily_sales", float),
                "warehouse": _text(row, "warehouse") or "main",
            }
        except RowError as exc:
            problems.append(f"{path}:{number}: {exc}")
    if problems:
        raise ImportFileError(problems)
    existing = set(session.scalars(select(Product.sku).where(Product.sku.in_(list(products)))))
    for sku, data in products.items():
        if sku in existing:
            result.updated += 1
        else:
            result.created += 1
        session.merge(Product(**data))
    session.flush()
    return result
