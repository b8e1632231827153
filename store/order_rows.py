"""The import's column contract (README, "Importing data") and the parsing of one row.

A row is parsed into what the tables store (an order, its line, its shipment; or a product),
with every problem of the row named by :class:`store.import_values.RowValues`. The lines of
one order repeat the order's columns; :attr:`OrderLine.fingerprint` lets the importer find
lines that disagree without keeping them, and :func:`conflicting_columns` names the columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.import_reading import Problem, SourceRow
from store.import_values import RowValues, length_of, money_limits, shown
from store.models import Order, OrderItem, Product, Shipment
from store.orders import ORDER_ID_RULES, valid_order_id

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
    "paid_at",
    "shipment_status",
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
# the columns every line of one order repeats
ORDER_LEVEL_COLUMNS = tuple(c for c in ORDER_COLUMNS if c not in ("sku", "quantity"))
INVENTORY_COLUMNS = (
    "sku",
    "name",
    "on_hand",
    "reserved",
    "reorder_point",
    "lead_time_days",
    "daily_sales",
)
INVENTORY_OPTIONAL = ("warehouse",)
PLACES, MAX_TOTAL = money_limits(Order.__table__.c.total)
_ORDER, _SHIPMENT = Order.__table__.c, Shipment.__table__.c
# the longest value of each text column, from the models
ORDER_ID_LENGTH = length_of(_ORDER.id)
EMAIL_LENGTH = length_of(_ORDER.email)
NAME_LENGTH = length_of(_ORDER.customer_name)
LANGUAGE_LENGTH = length_of(_ORDER.language)
POSTCODE_LENGTH = length_of(_ORDER.postcode)
SKU_LENGTH = length_of(OrderItem.__table__.c.sku)
CARRIER_LENGTH = length_of(_SHIPMENT.carrier)
TRACKING_LENGTH = length_of(_SHIPMENT.tracking_number)
# name@domain, one "@", without the spaces, line breaks ("\r\nBcc: ..." in a header),
# brackets and separators of a display name ("Mia <mia@example.com>") or of a list of addresses
EMAIL = re.compile(r'[^@\s<>()\[\],;:"\\]+@[^@\s<>()\[\],;:"\\]+')
COUNTRY = re.compile("[A-Z]{2}")
CURRENCY = re.compile("[A-Z]{3}")
# the file's column of each stored order and shipment value, for messages
ORDER_SOURCE = {
    "placed_at": "placed_at",
    "paid_at": "paid_at",
    "email": "customer_email",
    "customer_name": "customer_name",
    "country": "country",
    "postcode": "postcode",
    "language": "language",
    "status": "status",
    "total": "total",
    "currency": "currency",
}
SHIPMENT_SOURCE = {
    "carrier": "carrier",
    "tracking_number": "tracking_number",
    "shipped_at": "shipped_at",
    "promised_delivery": "promised_delivery",
    "last_scan_at": "last_scan_at",
    "delivered_at": "delivered_at",
    "status": "shipment_status",
}


@dataclass(slots=True)
class OrderLine:
    """One checked order line: the order's row, the line's SKU and quantity, the shipment."""

    order: dict[str, Any]
    sku: str
    quantity: int
    shipment: dict[str, Any] | None
    customer: dict[str, Any]

    fingerprint: int  # a hash of all the lines of one order must agree on (e-mail in any case)


def _status(values: RowValues, column: str, allowed: set[str], written: str) -> str:
    status = written.lower()
    if status not in allowed:
        values.fail(column, f"{status!r} is not one of {', '.join(sorted(allowed))}")
    return status


def parse_order_line(row: SourceRow) -> tuple[OrderLine | None, list[Problem]]:
    """The checked line of ``row``, or None and every problem of the row."""
    values = RowValues(row)
    written_id = values.raw("order_id")
    if written_id and not written_id.lstrip("#"):
        values.fail("order_id", "only '#'; the order number is missing")
        order_id = ""
    else:
        order_id = values.text("order_id", ORDER_ID_LENGTH, required=True).lstrip("#")
        if order_id and valid_order_id(order_id) is None:
            values.fail("order_id", f"{order_id[:60]!r} is not an order id: {ORDER_ID_RULES}")
    email = values.text("customer_email", EMAIL_LENGTH, required=True)
    if email and not EMAIL.fullmatch(email):
        values.fail("customer_email", f"{shown(email)} is not an e-mail address (name@domain)")
    status = values.raw("status")
    if not status:
        values.fail("status", "missing")
    else:
        status = _status(values, "status", ORDER_STATUSES, status)
    country = values.code("country", COUNTRY, "a two-letter ISO country code")
    currency = values.code("currency", CURRENCY, "a three-letter ISO currency code")
    placed_at = values.moment("placed_at", required=True)
    paid_at = values.moment("paid_at")
    name = values.text("customer_name", NAME_LENGTH)
    language = values.text("language", LANGUAGE_LENGTH).lower() or None
    order = {
        "id": order_id,
        "placed_at": placed_at,
        "paid_at": paid_at or (placed_at if status != "pending" else None),
        "email": email,
        "customer_name": name,
        "country": country,
        "postcode": values.text("postcode", POSTCODE_LENGTH),
        "language": language,
        "status": status,
        "total": values.money("total", PLACES, MAX_TOTAL),
        "currency": currency,
    }
    sku = values.text("sku", SKU_LENGTH, required=True)
    quantity = values.whole("quantity", minimum=1)
    shipment = _shipment(values, order_id, status)
    if values.problems:
        return None, values.problems
    assert quantity is not None
    customer = {"email": email.lower(), "name": name, "language": language}
    parcel = tuple(shipment.values()) if shipment else None
    # everything the lines of one order must agree on, the e-mail in any case
    agreed = [value for key, value in order.items() if key != "email"]
    fingerprint = hash((*agreed, customer["email"], parcel))
    return OrderLine(order, sku, quantity, shipment, customer, fingerprint), []


def parse_item(values: RowValues) -> tuple[str, int] | None:
    """Only the SKU and quantity of a row (problems in ``values``): the other lines of an
    order repeat the order's columns, which its first line gave."""
    sku = values.text("sku", SKU_LENGTH, required=True)
    quantity = values.whole("quantity", minimum=1)
    return None if quantity is None or values.problems else (sku, quantity)


def order_id_as_written(row: SourceRow) -> str:
    """The order id of ``row`` as :func:`parse_order_line` reads a valid one."""
    value = row.values.get("order_id")
    if value is None or isinstance(value, dict | list):  # a JSON object or list: refused
        return ""
    return str(value).strip().lstrip("#")


def order_columns_as_written(row: SourceRow) -> int:
    """A hash of the order's columns of ``row`` exactly as written (all but sku, quantity)."""
    values = row.values
    try:
        return hash(tuple(map(values.get, ORDER_LEVEL_COLUMNS)))
    except TypeError:  # a JSON object or list as a value: parsed (and refused) in full
        return -1


def _shipment(values: RowValues, order_id: str, status: str) -> dict[str, Any] | None:
    carrier = values.text("carrier", CARRIER_LENGTH)
    tracking = values.text("tracking_number", TRACKING_LENGTH)
    shipped_at = values.moment("shipped_at")
    delivered_at = values.moment("delivered_at")
    promised = values.day("promised_delivery")
    last_scan_at = values.moment("last_scan_at")
    written = values.raw("shipment_status")
    if not (carrier or tracking or shipped_at):
        return None
    if written:
        shipment_status = _status(values, "shipment_status", SHIPMENT_STATUSES, written)
    else:
        shipment_status = _implied_shipment_status(status, shipped_at, delivered_at)
    return {
        "order_id": order_id,
        "carrier": carrier or None,
        "tracking_number": tracking or None,
        "shipped_at": shipped_at,
        "promised_delivery": promised,
        "last_scan_at": last_scan_at,
        "delivered_at": delivered_at,
        "status": shipment_status,
    }


def _implied_shipment_status(
    status: str, shipped_at: datetime | None, delivered_at: datetime | None
) -> str:
    """The parcel's status when the file does not name it, from the order's."""
    if delivered_at:
        return "delivered"
    if status in ("exception", "returned"):
        return status
    return "in_transit" if shipped_at else "pending"


def conflicting_columns(line: OrderLine, first: OrderLine) -> Iterator[tuple[str, str, str]]:
    """(column, this line's value, the first line's) for each order column they differ in."""
    for key, column in ORDER_SOURCE.items():
        mine, theirs = line.order[key], first.order[key]
        if key == "email":  # in any case, as the fingerprint compares it
            mine, theirs = mine.lower(), theirs.lower()
        if mine != theirs:
            yield column, _shown(line.order[key]), _shown(first.order[key])
    mine, theirs = line.shipment or {}, first.shipment or {}
    for key, column in SHIPMENT_SOURCE.items():
        if mine.get(key) != theirs.get(key):
            yield column, _shown(mine.get(key)), _shown(theirs.get(key))


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "nothing"
    return repr(value.isoformat() if hasattr(value, "isoformat") else str(value))


def parse_product(values: RowValues) -> dict[str, Any] | None:
    """The checked product of a row, or None (the problems are in ``values``)."""
    columns = Product.__table__.c
    sku = values.text("sku", length_of(columns.sku), required=True)
    product = {
        "sku": sku,
        "name": values.text("name", length_of(columns.name)) or sku,
        "on_hand": values.whole("on_hand"),
        "reserved": values.whole("reserved"),
        "reorder_point": values.whole("reorder_point"),
        "lead_time_days": values.whole("lead_time_days"),
        "daily_sales": values.real("daily_sales"),
        "warehouse": values.text("warehouse", length_of(columns.warehouse)) or "main",
    }
    return None if values.problems else product
