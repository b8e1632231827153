"""Staff commands a team uses, end to end through the real Telegram and Slack channels.

``/help`` in the staff language, statuses and reasons in the staff language in ``/order`` and
``/tickets``, ``/stock`` by SKU or by (misspelt, partial, Chinese) name, and ``/alerts`` with
the latest orders first and how late each is, on a bot that evaluated its alerts at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, Knowledge, build_app
from bot.channels.slack_render import escape
from bot.config import Settings
from bot.runtime import serve
from handlers.router import STAFF_COMMANDS
from handlers.ticket_commands import TICKET_COMMANDS
from store.clock import ManualClock
from store.demo import generate_demo_shop
from store.importers import import_orders
from store.models import Product
from tests.channels.slack_harness import STAFF, STAFF_CHANNEL, Desk, command, section_text, send
from tests.channels.telegram_harness import STAFF_CHAT, STAFF_USER, running_channel, telegram_app
from tests.fakes.telegram_api import FakeTelegram

EVERY_STAFF_COMMAND = [*STAFF_COMMANDS, *TICKET_COMMANDS]
HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,status,total,currency,"
    "carrier,tracking_number,shipped_at,promised_delivery,shipment_status,sku,quantity\n"
)


def import_lines(app: App, folder: Path, lines: list[str]) -> None:
    path = folder / "orders.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    import_orders(app.sessions, path)


@pytest.fixture
def bot(db_url: str, knowledge: Knowledge, clock: ManualClock) -> Iterator[App]:
    """The demo KB's bot on Telegram; staff read Chinese (the default staff language)."""
    app = telegram_app(db_url, knowledge, clock)
    yield app
    app.close()


def text(app: App, key: str, language: str | None = None, **values: object) -> str:
    return app.knowledge.texts.get(key, language or app.settings.support.staff_language, **values)


def test_every_staff_command_has_a_help_line_in_every_locale(knowledge: Knowledge) -> None:
    texts = knowledge.texts
    assert len(texts.languages) == 10
    for language in texts.languages:
        for name in EVERY_STAFF_COMMAND:
            assert texts.has(language, f"staff.help.{name}"), (language, name)
            assert texts.get(f"staff.help.{name}", language).startswith(f"/{name}")
        assert texts.has(language, "staff.help.header")


async def test_help_for_staff_in_the_staff_language_and_for_customers_in_theirs(
    bot: App, fake: FakeTelegram
) -> None:
    async with running_channel(bot, fake):
        fake.message(STAFF_USER, "/help", chat_id=STAFF_CHAT, language_code="en")
        staff_help = (await fake.wait_sent(STAFF_CHAT))[0]
        fake.message(901, "/help", language_code="de")
        customer_help = (await fake.wait_sent(901))[0]
    lines = staff_help.text.split("\n")
    assert lines[0] == text(bot, "staff.help.header")
    assert lines[1:] == [text(bot, f"staff.help.{name}") for name in EVERY_STAFF_COMMAND]
    assert "/stock" in staff_help.text and "/alerts" in staff_help.text
    assert customer_help.text == text(bot, "help.text", "de")
    menus = {json_scope: commands for (json_scope, _), commands in fake.commands.items()}
    staff_menu = next(c for scope, c in menus.items() if str(STAFF_CHAT) in scope)
    assert {c["command"] for c in staff_menu} >= {"help", "order", "stock", "alerts"}


async def test_order_and_tickets_speak_the_staff_language(
    bot: App, fake: FakeTelegram, clock: ManualClock, tmp_path: Path
) -> None:
    today = clock().date()
    import_lines(
        bot,
        tmp_path,
        [
            f"SZ-30001,{today - timedelta(days=9)}T10:00:00,kai@example.de,Kai,DE,10115,"
            f"in_transit,20.00,EUR,DHL,JD9,{today - timedelta(days=8)}T10:00:00,"
            f"{today + timedelta(days=2)},customs_hold,SKU-1,1\n"
        ],
    )
    async with running_channel(bot, fake):
        fake.message(STAFF_USER, "/order sz-30001", chat_id=STAFF_CHAT)
        order = (await fake.wait_sent(STAFF_CHAT))[0]
        fake.message(902, "I want a refund, this is a scam!", language_code="en")
        await fake.wait_sent(902)
        await fake.wait_for(lambda: len(fake.sent_to(STAFF_CHAT)) >= 2, what="the ticket card")
        fake.message(STAFF_USER, "/tickets", chat_id=STAFF_CHAT)
        tickets = (await fake.wait_sent(STAFF_CHAT, 3))[2]
    assert text(bot, "order.status.in_transit") in order.text
    assert text(bot, "shipment.status.customs_hold") in order.text
    assert "in_transit" not in order.text and "customs_hold" not in order.text
    assert text(bot, "staff.ticket.state.open") in tickets.text
    assert any(text(bot, f"staff.reason.{r}") in tickets.text for r in ("refund_demand", "angry"))
    assert " open" not in tickets.text and "refund_demand" not in tickets.text


async def test_stock_by_sku_or_by_name_fuzzy_with_the_best_few_when_unsure(
    bot: App, fake: FakeTelegram, clock: ManualClock
) -> None:
    with bot.sessions() as session, session.begin():
        generate_demo_shop(session, orders=5, products=30, seed=4, today=clock().date())
    with bot.sessions() as session:
        blenders = session.scalars(select(Product).where(Product.sku.like("NW-BLND-%"))).all()
        black = session.get(Product, "NW-BLND-BLK")
        assert black is not None and len(blenders) == 3
    asks = ["/stock nw-blnd-blk", "/stock blender", "/stock blendr black", "/stock 搅拌机"]
    asks.append("/stock xyzzy-quux")
    async with running_channel(bot, fake):
        for number, ask in enumerate(asks, start=1):
            fake.message(STAFF_USER, ask, chat_id=STAFF_CHAT)
            await fake.wait_sent(STAFF_CHAT, number)
    by_sku, by_name, misspelt, chinese, nothing = (m.text for m in fake.sent_to(STAFF_CHAT))
    black_line = f"NW-BLND-BLK {black.names['zh']}"
    assert by_sku.startswith(black_line) and misspelt.startswith(black_line)
    for listing, query in ((by_name, "blender"), (chinese, "搅拌机")):
        lines = listing.split("\n")
        assert lines[0] == text(bot, "staff.stock.matches", query=query)
        assert sorted(line.split(" · ")[0] for line in lines[1:]) == sorted(
            f"/stock {p.sku}" for p in blenders
        )
    assert nothing == text(bot, "staff.not_found", query="xyzzy-quux")


async def test_alerts_at_start_latest_first_with_how_late(
    db_url: str, knowledge: Knowledge, clock: ManualClock, fake: FakeTelegram, tmp_path: Path
) -> None:
    """``crossdesk run``'s serve: the rules run once at start (even one on a yearly crontab),
    and ``/alerts`` lists the overdue parcels most late first, each with its lateness."""
    settings = Settings(
        store={"url": db_url},
        support={"knowledge_base": str(knowledge.kb.path), "staff_language": "en"},
        telegram={
            "token": fake.token,
            "base_url": fake.base_url,
            "base_file_url": fake.base_file_url,
            "rate_limit": False,
            "staff_chat_id": STAFF_CHAT,
            "staff_user_ids": [STAFF_USER],
        },
        alerts={"rules": {"overdue_delivery": {"cron": "0 3 1 1 *"}}},
    )
    app = build_app(settings, clock=clock, knowledge=knowledge)
    today: date = clock().date()
    late = {"AMZ-1004": 4, "SZ-1020": 20, "2026/1010": 10}  # days past the promised date
    import_lines(
        app,
        tmp_path,
        [
            f"{order},{today - timedelta(days=days + 9)}T10:00:00,{n}@example.com,N,DE,10115,"
            f"in_transit,20.00,EUR,DHL,JD{n},{today - timedelta(days=days + 8)}T10:00:00,"
            f"{today - timedelta(days=days)},in_transit,SKU-1,1\n"
            for n, (order, days) in enumerate(late.items())
        ],
    )
    stop = asyncio.Event()
    running = asyncio.create_task(serve(app, stop))
    try:
        title = text(app, "alerts.rule.overdue_delivery", "en")
        await fake.wait_for(
            lambda: any(
                title in m.text and "/order SZ-1020" in m.text for m in fake.sent_to(STAFF_CHAT)
            ),
            what="the overdue alert, evaluated at start",
        )
        asked = fake.message(STAFF_USER, "/alerts", chat_id=STAFF_CHAT)["message"]["message_id"]

        def answers() -> list:  # type: ignore[type-arg]
            # the listing answers the command; other rules' alerts may arrive meanwhile
            return [m for m in fake.sent_to(STAFF_CHAT) if m.reply_to == asked]

        await fake.wait_for(answers, what="the /alerts listing")
        listing = answers()[0].text
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        app.close()
    rows = listing.split("\n")
    start = next(i for i, row in enumerate(rows) if row.startswith(f"{title}:")) + 1
    section = rows[start:]
    end = next((i for i, row in enumerate(section) if not row.startswith(" ")), len(section))
    lines = section[:end]
    assert [line.split("/order ")[1].split(" ")[0] for line in lines] == [
        "SZ-1020",
        "2026/1010",
        "AMZ-1004",
    ]
    for line, days in zip(lines, (20, 10, 4), strict=True):
        assert text(app, "alerts.late.overdue_delivery", "en", days=days) in line
    assert text(app, "alerts.list.none", "en") not in listing


async def test_slack_staff_get_help_and_stock_by_name(desk: Desk, clock: ManualClock) -> None:
    with desk.app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=5, products=30, seed=4, today=clock().date())
    for name, words in (("/help", ""), ("/stock", "blender")):
        where = f"staff-{name.strip('/')}"
        url = desk.slack.response_url(where)
        assert await send(desk, command(name, words, STAFF, STAFF_CHANNEL, url)) == 200
        answer = await desk.slack.wait_for(lambda s, w=where: s.calls_to(f"respond/{w}"))
        shown = section_text(answer[0].params)
        if name == "/help":
            assert shown.startswith(escape(desk.text("staff.help.header")))
            assert escape(desk.text("staff.help.stock")) in shown
        else:
            assert shown.startswith(escape(desk.text("staff.stock.matches", query="blender")))
            assert shown.count("/stock NW-BLND-") == 3
