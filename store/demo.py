"""The demo shop generator: a realistic cross-border shop, deterministic for a seed.

Customers write in the 10 demo languages from matching countries; orders go out with several
carriers; a share of them are late, stuck without a tracking scan, unshipped past the handling
time or held at customs; some products sit below their reorder point. Rows are written with
bulk inserts in chunks, so 100,000 orders take seconds and memory stays flat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from store.db import advance_sequence
from store.models import Customer, Order, OrderItem, Product, Shipment

# language -> (countries, given names, family names)
MARKETS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "en": (
        ["US", "GB", "CA", "AU", "NZ", "IE"],
        ["James", "Emily", "Olivia", "Liam", "Noah", "Ava", "Jack", "Grace"],
        ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clarke"],
    ),
    "es": (
        ["ES", "MX", "CO", "CL", "AR"],
        ["Lucía", "Mateo", "Sofía", "Diego", "Valentina", "Javier"],
        ["García", "Martínez", "López", "Rodríguez", "Fernández"],
    ),
    "fr": (
        ["FR", "BE", "CA", "CH"],
        ["Camille", "Léa", "Hugo", "Louis", "Chloé", "Théo"],
        ["Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"],
    ),
    "de": (
        ["DE", "AT", "CH"],
        ["Lukas", "Anna", "Felix", "Marie", "Jonas", "Lena"],
        ["Müller", "Schmidt", "Schneider", "Fischer", "Weber"],
    ),
    "it": (
        ["IT", "CH"],
        ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo"],
        ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"],
    ),
    "pt": (
        ["BR", "PT"],
        ["João", "Ana", "Pedro", "Mariana", "Gabriel", "Beatriz"],
        ["Silva", "Santos", "Oliveira", "Souza", "Costa"],
    ),
    "ru": (
        ["RU", "KZ"],
        ["Иван", "Анна", "Дмитрий", "Мария", "Алексей", "Ольга"],
        ["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов"],
    ),
    "ja": (
        ["JP"],
        ["翔太", "陽菜", "蓮", "結衣", "大翔", "美咲"],
        ["佐藤", "鈴木", "高橋", "田中", "伊藤"],
    ),
    "zh": (
        ["SG", "TW", "HK", "MY"],
        ["伟", "芳", "娜", "敏", "静", "磊"],
        ["王", "李", "张", "刘", "陈"],
    ),
    "ar": (
        ["AE", "SA", "QA", "KW", "EG"],
        ["محمد", "فاطمة", "أحمد", "مريم", "علي", "نور"],
        ["الهاشمي", "العتيبي", "المنصوري", "الشمري", "حسن"],
    ),
}
LANGUAGE_WEIGHTS = {
    "en": 24,
    "de": 12,
    "fr": 10,
    "es": 10,
    "it": 7,
    "pt": 8,
    "ru": 6,
    "ja": 8,
    "zh": 8,
    "ar": 7,
}
CURRENCY = {
    "US": "USD",
    "GB": "GBP",
    "CA": "CAD",
    "AU": "AUD",
    "NZ": "NZD",
    "IE": "EUR",
    "ES": "EUR",
    "MX": "MXN",
    "CO": "COP",
    "CL": "CLP",
    "AR": "USD",
    "FR": "EUR",
    "BE": "EUR",
    "CH": "CHF",
    "DE": "EUR",
    "AT": "EUR",
    "IT": "EUR",
    "BR": "BRL",
    "PT": "EUR",
    "RU": "RUB",
    "KZ": "USD",
    "JP": "JPY",
    "SG": "SGD",
    "TW": "TWD",
    "HK": "HKD",
    "MY": "MYR",
    "AE": "AED",
    "SA": "SAR",
    "QA": "QAR",
    "KW": "KWD",
    "EG": "USD",
}
# (carrier, tracking prefix, typical transit days)
CARRIERS = [
    ("DHL", "JD", 5),
    ("FedEx", "FX", 6),
    ("UPS", "1Z", 6),
    ("Cainiao", "LP", 12),
    ("YunExpress", "YT", 10),
    ("4PX", "4P", 11),
    ("China Post", "LX", 16),
    ("Aramex", "AX", 8),
]
CATEGORIES = [
    ("TEE", "T-shirt", "T恤", 19),
    ("HOOD", "Hoodie", "连帽衫", 39),
    ("JKT", "Rain jacket", "雨衣", 59),
    ("SNK", "Running shoes", "跑鞋", 69),
    ("BLND", "Blender", "搅拌机", 49),
    ("KTL", "Electric kettle", "电热水壶", 29),
    ("LAMP", "Desk lamp", "台灯", 25),
    ("BUDS", "Wireless earbuds", "无线耳机", 45),
    ("CHG", "USB-C charger", "USB-C充电器", 15),
    ("WTCH", "Smartwatch", "智能手表", 89),
]
COLOURS = [
    ("BLK", "black", "黑色"),
    ("WHT", "white", "白色"),
    ("BLU", "blue", "蓝色"),
    ("GRN", "green", "绿色"),
    ("RED", "red", "红色"),
]
CHUNK = 20_000


@dataclass(frozen=True)
class DemoSummary:
    """What the generator wrote."""

    orders: int
    items: int
    shipments: int
    products: int
    customers: int


def generate_products(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` products; about one in eight at or below its reorder point."""
    products = []
    for index in range(count):
        code, name_en, name_zh, _price = CATEGORIES[index % len(CATEGORIES)]
        colour, colour_en, colour_zh = COLOURS[(index // len(CATEGORIES)) % len(COLOURS)]
        serial = index // (len(CATEGORIES) * len(COLOURS))
        sku = f"NW-{code}-{colour}" + (f"-{serial:04d}" if serial else "")
        daily = round(rng.uniform(0.2, 25.0), 1)
        lead = rng.choice([7, 10, 14, 21, 30])
        reorder = max(5, int(daily * lead * 0.8))
        if rng.random() < 0.12:
            on_hand = rng.randint(0, reorder)  # low stock: at or below the reorder point
        else:
            on_hand = rng.randint(reorder + 10, reorder * 4 + 50)
        products.append(
            {
                "sku": sku,
                "name": f"{name_en}, {colour_en}",
                "names": {"en": f"{name_en}, {colour_en}", "zh": f"{colour_zh}{name_zh}"},
                "warehouse": "PL-POZ" if rng.random() < 0.3 else "CN-SZX",
                "on_hand": on_hand,
                "reserved": min(on_hand, rng.randint(0, max(1, int(daily * 2)))),
                "reorder_point": reorder,
                "lead_time_days": lead,
                "daily_sales": daily,
            }
        )
    return products


def demo_orders(
    count: int, products: list[dict[str, Any]], rng: random.Random, today: date
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]]:
    """The orders of the demo shop, one at a time: (order, its lines, shipment, customer)."""
    languages = list(LANGUAGE_WEIGHTS)
    weights = list(LANGUAGE_WEIGHTS.values())
    midnight = datetime.combine(today, datetime.min.time())
    customers = max(1, count // 3)
    customer_languages = rng.choices(languages, weights, k=customers)
    for index in range(count):
        order_id = str(10001 + index)
        customer_no = rng.randrange(customers)
        language = customer_languages[customer_no]
        countries, given, family = MARKETS[language]
        country = countries[customer_no % len(countries)]
        name = f"{given[customer_no % len(given)]} {family[customer_no // 7 % len(family)]}"
        email = f"customer{customer_no}@example.com"
        customer = {"email": email, "name": name, "language": language}
        placed = midnight - timedelta(days=rng.uniform(0, 60), hours=rng.uniform(0, 23))
        age_days = (midnight - placed).days
        items = [
            {
                "order_id": order_id,
                "sku": rng.choice(products)["sku"],
                "quantity": rng.choice([1, 1, 1, 1, 2, 2, 3]),
            }
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))
        ]
        total = Decimal(rng.randint(1500, 25000)) / 100
        carrier, prefix, transit = CARRIERS[rng.randrange(len(CARRIERS))]
        roll = rng.random()
        shipment: dict[str, Any] | None = None
        paid_at: datetime | None = placed + timedelta(minutes=rng.randint(1, 30))
        if roll < 0.02:
            status, paid_at = "pending", None
        elif roll < 0.04:
            status = "cancelled"
        elif age_days < 2 or roll < 0.10:
            # unpaid-to-ship window; the older ones here are unshipped past the handling time
            status = "paid" if roll < 0.07 else "processing"
        else:
            assert paid_at is not None  # only a pending order is unpaid
            shipped = paid_at + timedelta(hours=rng.uniform(6, 60))
            promised = (shipped + timedelta(days=transit + 3)).date()
            delivered_at: datetime | None = shipped + timedelta(
                days=rng.uniform(transit * 0.6, transit * 1.3)
            )
            shipment_status = "delivered"
            last_scan = delivered_at
            fate = rng.random()
            if fate < 0.06:  # stuck: no scan for many days
                delivered_at = None
                shipment_status = "in_transit"
                last_scan = shipped + timedelta(days=rng.uniform(0.5, 3))
            elif fate < 0.08:  # carrier exception
                delivered_at = None
                shipment_status = rng.choice(["exception", "customs_hold", "lost", "returned"])
                last_scan = shipped + timedelta(days=rng.uniform(1, transit))
            assert delivered_at is None or last_scan is not None
            if delivered_at is not None and delivered_at > midnight:
                delivered_at = None  # still travelling
                shipment_status = "in_transit"
                last_scan = min(midnight - timedelta(hours=rng.uniform(1, 40)), midnight)
                last_scan = max(last_scan, shipped)
            status = {
                "delivered": "delivered",
                "in_transit": "in_transit",
                "returned": "returned",
            }.get(shipment_status, "exception")
            shipment = {
                "order_id": order_id,
                "carrier": carrier,
                "tracking_number": f"{prefix}{rng.randrange(10**9, 10**10)}",
                "shipped_at": shipped,
                "promised_delivery": promised,
                "last_scan_at": last_scan,
                "delivered_at": delivered_at,
                "status": shipment_status,
            }
        order = {
            "id": order_id,
            "customer_no": customer_no,
            "placed_at": placed,
            "paid_at": paid_at,
            "email": email,
            "customer_name": name,
            "country": country,
            "postcode": f"{customer_no * 7919 % 90000 + 10000}",
            "language": language,
            "status": status,
            "total": total,
            "currency": CURRENCY[country],
        }
        yield order, items, shipment, customer


def generate_demo_shop(
    session: Session,
    *,
    orders: int = 2000,
    products: int = 200,
    seed: int = 7,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Replace the shop's orders, products and customers with a generated demo shop;
    ``progress`` is told the orders written so far after every chunk."""
    rng = random.Random(seed)
    today = today or date.today()
    for table in (Shipment, OrderItem, Order, Product):
        session.execute(delete(table))
    session.execute(delete(Customer).where(Customer.email.like("customer%@example.com")))
    product_rows = generate_products(products, rng)
    for start in range(0, len(product_rows), CHUNK):
        session.execute(insert(Product), product_rows[start : start + CHUNK])
    customer_ids: dict[int, int] = {}
    order_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    shipment_rows: list[dict[str, Any]] = []
    counts = {"orders": 0, "items": 0, "shipments": 0}

    def flush() -> None:
        session.execute(insert(Order), order_rows)
        session.execute(insert(OrderItem), item_rows)
        if shipment_rows:
            session.execute(insert(Shipment), shipment_rows)
        counts["orders"] += len(order_rows)
        if progress is not None:
            progress(counts["orders"])
        counts["items"] += len(item_rows)
        counts["shipments"] += len(shipment_rows)
        order_rows.clear()
        item_rows.clear()
        shipment_rows.clear()

    next_customer_id = (
        session.query(Customer.id).order_by(Customer.id.desc()).limit(1).scalar() or 0
    ) + 1
    new_customers: list[dict[str, Any]] = []
    for order, items, shipment, customer in demo_orders(orders, product_rows, rng, today):
        number = order.pop("customer_no")
        if number not in customer_ids:
            customer_ids[number] = next_customer_id
            new_customers.append({"id": next_customer_id, **customer})
            next_customer_id += 1
        order["customer_id"] = customer_ids[number]
        order_rows.append(order)
        item_rows.extend(items)
        if shipment:
            shipment_rows.append(shipment)
        if len(order_rows) >= CHUNK:
            if new_customers:
                session.execute(insert(Customer), new_customers)
                new_customers.clear()
            flush()
    if new_customers:
        session.execute(insert(Customer), new_customers)
    if order_rows:
        flush()
    advance_sequence(session, Customer.__tablename__)  # the ids above were written by hand
    return DemoSummary(
        orders=counts["orders"],
        items=counts["items"],
        shipments=counts["shipments"],
        products=len(product_rows),
        customers=len(customer_ids),
    )
