"""Order ids of every shape, end to end through the real Telegram channel and the fake Bot API.

Each shape (``SZ-20001``, Amazon's ``302-1234567-1234567``, Shopify-like ``#A1B2C3``) is
imported by the real import code, then found by a customer in their own words and with
``/order`` (after proving the order with its e-mail or postcode, typed in another case than
the shop's), by staff with ``/order``, and named in an alert whose ``/order`` line, sent back
as staff would, shows the order.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from bot.alert_jobs import build_engine
from bot.app import App, Knowledge
from store.clock import ManualClock
from store.importers import import_orders
from store.models import Order, VerifiedOrder
from tests.channels.telegram_harness import STAFF_CHAT, STAFF_USER, running_channel, telegram_app
from tests.fakes.telegram_api import FakeTelegram

HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,status,total,currency,"
    "sku,quantity\n"
)


class Shape(NamedTuple):
    """One order id shape: as the shop's file has it, as stored, and as customers type it."""

    in_file: str
    stored: str
    email: str
    postcode: str
    language: str
    words: str  # a customer's own question
    spelled: str  # the id in it, as the customer spelled it
    command: str  # another customer's /order
    typed: str  # the id in that


SHAPES = {
    "prefixed": Shape(
        "SZ-20001", "SZ-20001", "lena@example.de", "10115", "de",
        "Wo ist meine Bestellung SZ-20001?", "SZ-20001", "/order sz-20001", "sz-20001",
    ),
    "amazon": Shape(
        "302-1234567-1234567", "302-1234567-1234567", "sam@example.com", "SW1A 1AA", "en",
        "Where is my order 302-1234567-1234567?", "302-1234567-1234567",
        "/order 302-1234567-1234567", "302-1234567-1234567",
    ),
    "shopify": Shape(
        "#A1B2C3", "A1B2C3", "li@example.cn", "100000", "zh",
        "我的订单 #a1b2c3 到哪了？", "a1b2c3", "/order #a1b2c3", "a1b2c3",
    ),
}  # fmt: skip
ORDER_LINK = re.compile(r"/order (\S+)")


@pytest.fixture
def shop(db_url: str, knowledge: Knowledge, clock: ManualClock, tmp_path: Path) -> Iterator[App]:
    """The demo KB's bot with the three orders imported from a CSV file, paid 7 days ago and
    not shipped (so the unshipped rule fires for each)."""
    app = telegram_app(db_url, knowledge, clock)
    placed = (clock() - timedelta(days=7)).isoformat()
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + "".join(
            f"{shape.in_file},{placed},{shape.email},Kim,DE,{shape.postcode},paid,59.90,EUR,"
            "SKU-1,1\n"
            for shape in SHAPES.values()
        ),
        encoding="utf-8",
    )
    assert import_orders(app.sessions, path).created == 3
    yield app
    app.close()


def text(app: App, key: str, language: str, **values: object) -> str:
    return app.knowledge.texts.get(key, language, **values)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_an_imported_id_is_found_by_customers_staff_and_alert_links(
    shop: App, fake: FakeTelegram, shape: str
) -> None:
    case = SHAPES[shape]
    stored, email, language, words = case.stored, case.email, case.language, case.words
    summary = text(
        shop,
        "order.summary",
        language,
        order=stored,
        status=text(shop, "order.status.paid", language),
    )
    async with running_channel(shop, fake):
        # a customer in their own words: asked to prove it, then shown the order
        fake.message(801, words, language_code=language)
        asked = (await fake.wait_sent(801))[0]
        spelled = case.spelled
        assert asked.text == text(shop, "order.ask_verification", language, order=spelled)
        fake.message(801, "wrong@example.org", language_code=language)
        refused = (await fake.wait_sent(801, 2))[1]
        assert refused.text == text(shop, "order.not_verified", language, order=spelled)
        fake.message(801, words, language_code=language)
        fake.message(801, email.upper(), language_code=language)
        shown = (await fake.wait_sent(801, 4))[3]
        assert summary in shown.text

        # another customer with /order and the postcode; the shop's case need not be typed
        fake.message(802, case.command, language_code=language)
        asked = (await fake.wait_sent(802))[0]
        assert asked.text == text(shop, "order.ask_verification", language, order=case.typed)
        fake.message(802, case.postcode.lower(), language_code=language)
        assert summary in (await fake.wait_sent(802, 2))[1].text
        fake.message(802, case.command, language_code=language)  # linked now: shown at once
        assert summary in (await fake.wait_sent(802, 3))[2].text

        # staff look it up by the id in another case
        fake.message(STAFF_USER, f"/order {stored.lower()}", chat_id=STAFF_CHAT)
        full = (await fake.wait_sent(STAFF_CHAT))[0]
        assert stored in full.text and email in full.text

        # the alert names it with an /order line that works as it is
        await asyncio.to_thread(build_engine(shop).run_all)
        await fake.wait_for(lambda: len(fake.sent_to(STAFF_CHAT)) >= 2, what="the alert")
        alert = fake.sent_to(STAFF_CHAT)[1]
        links = ORDER_LINK.findall(alert.text)
        assert sorted(links) == sorted(s.stored for s in SHAPES.values())
        fake.message(STAFF_USER, f"/order {stored}", chat_id=STAFF_CHAT)
        followed = (await fake.wait_sent(STAFF_CHAT, 3))[2]
        assert stored in followed.text and email in followed.text
    with shop.sessions() as session:
        verified = session.scalars(select(VerifiedOrder.order_id)).all()
        assert verified == [stored, stored]  # both customers, linked to the stored id
        assert session.get(Order, stored) is not None
