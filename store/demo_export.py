"""The demo shop's orders as the export file a shop would import (README, "Importing data").

The same generator as ``crossdesk demo-data`` (:mod:`store.demo`), written as CSV one row per
order line, streaming, so benchmarks and tests import files of any size that look like a
real shop's: several lines per order, shipments in every state, ten languages.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from store.demo import demo_orders, generate_products
from store.order_rows import ORDER_COLUMNS

EXPORT_COLUMNS = ORDER_COLUMNS  # every column the import reads, in its order


def _iso(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_demo_orders(
    path: Path,
    lines: int,
    *,
    seed: int = 7,
    today: date = date(2026, 3, 10),
    products: int = 200,
    delimiter: str = ",",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write at least ``lines`` order lines (whole orders) to ``path``; the lines written."""
    rng = random.Random(seed)
    catalogue = generate_products(products, rng)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        # an upper bound on the orders: every order has at least one line
        for order, items, shipment, _customer in demo_orders(lines, catalogue, rng, today):
            parcel = shipment or {}
            head = [
                order["id"],
                _iso(order["placed_at"]),
                order["email"],
                order["customer_name"],
                order["country"],
                order["postcode"],
                order["language"],
                order["status"],
                _iso(order["total"]),
                order["currency"],
                parcel.get("carrier", ""),
                parcel.get("tracking_number", ""),
                _iso(parcel.get("shipped_at")),
                _iso(parcel.get("promised_delivery")),
                _iso(parcel.get("delivered_at")),
                _iso(parcel.get("last_scan_at")),
            ]
            tail = [_iso(order["paid_at"]), parcel.get("status", "")]
            for item in items:
                writer.writerow([*head, item["sku"], item["quantity"], *tail])
                written += 1
            if progress is not None and written % 10_000 < len(items):
                progress(written)
            if written >= lines:
                break
    return written
