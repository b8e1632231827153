"""The Telegram channel end to end: the real python-telegram-bot Application, the fake Bot API.

Customers in several languages, buttons, orders with and without verification, staff commands
from staff and from customers, non-text and edited messages, groups, and staff notifications
through the outbox.
"""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.config import Settings
from bot.runtime import serve
from handlers.router import CUSTOMER_COMMANDS
from store.clock import ManualClock
from store.demo import generate_demo_shop
from store.models import Contact, ConversationEntry, FaqFeedback, Order, Product, Ticket
from tests.channels.telegram_harness import (
    LONG_PARAGRAPH,
    STAFF_CHAT,
    STAFF_USER,
    running_channel,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_rules import MAX_TEXT, utf16_length


def answer(app: App, language: str, entry_id: str) -> str:
    return app.knowledge.texts.fill(app.knowledge.kb.faq[language][entry_id].answer)


def text(app: App, key: str, language: str = "en", **values: object) -> str:
    return app.knowledge.texts.get(key, language, **values)


def actions(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [action for row in message.buttons for _, action in row]


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_customers_talk_in_their_languages_and_press_buttons(
    tg_app: App, fake: FakeTelegram, transport: str
) -> None:
    async with running_channel(tg_app, fake, transport=transport):
        fake.message(101, "How long does delivery take to Canada?", language_code="en")
        fake.message(102, "Wie lange dauert der Versand nach Österreich?", language_code="de")
        english = (await fake.wait_sent(101))[0]
        german = (await fake.wait_sent(102))[0]
        assert english.text == answer(tg_app, "en", "shipping_time")
        assert german.text == answer(tg_app, "de", "shipping_time")
        assert english.parse_mode == "HTML"
        assert actions(english) == ["helpful:yes:shipping_time", "helpful:no:shipping_time"]

        fake.press(101, "helpful:yes:shipping_time", english)
        thanks = (await fake.wait_sent(101, 2))[1]
        assert thanks.text == text(tg_app, "feedback.thanks")
        assert [c.status for c in fake.calls_to("answerCallbackQuery")] == [200]

        fake.message(102, "/language en", language_code="de")
        switched = (await fake.wait_sent(102, 2))[1]
        assert switched.text == text(tg_app, "language.set", "en")
    with tg_app.sessions() as session:
        feedback = session.scalars(select(FaqFeedback)).all()
        assert [(f.entry_id, f.language, f.helpful) for f in feedback] == [
            ("shipping_time", "en", True)
        ]
        languages = dict(session.execute(select(Contact.external_id, Contact.language)).all())
        assert languages == {"101": "en", "102": "en"}


async def test_start_offers_topics_and_a_person(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(tg_app, fake):
        fake.message(103, "/start", language_code="de")
        welcome = (await fake.wait_sent(103))[0]
        assert welcome.text == text(tg_app, "start.welcome", "de")
        assert "faq:shipping_time" in actions(welcome) and "human" in actions(welcome)
        fake.press(103, "faq:shipping_time", welcome, language_code="de")
        topic = (await fake.wait_sent(103, 2))[1]
        assert topic.text == answer(tg_app, "de", "shipping_time")


async def test_command_menus_are_registered_per_language_and_for_staff(
    tg_app: App, fake: FakeTelegram
) -> None:
    async with running_channel(tg_app, fake):
        pass
    support = tg_app.settings.support
    menus = {
        (json.loads(scope)["type"], json.loads(scope).get("chat_id"), language): commands
        for (scope, language), commands in fake.commands.items()
    }
    for language in ["", *support.languages]:
        commands = menus[("all_private_chats", None, language)]
        assert {c["command"] for c in commands} == CUSTOMER_COMMANDS
    german = {c["command"]: c["description"] for c in menus[("all_private_chats", None, "de")]}
    assert german["human"] == text(tg_app, "command.menu.human", "de")
    staff_menu = {c["command"] for c in menus[("chat", STAFF_CHAT, "")]}
    assert {"order", "stock", "tickets"} <= staff_menu
    staff_user_menu = {c["command"] for c in menus[("chat", STAFF_USER, "")]}
    assert {"stock", "tickets", "language", "human"} <= staff_user_menu


def _demo_order(app: App, clock: ManualClock) -> Order:
    with app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=30, products=10, seed=3, today=clock().date())
    with app.sessions() as session:
        order = session.scalars(select(Order).order_by(Order.id)).first()
        assert order is not None
        return order


async def test_order_needs_verification_and_then_shows_status(
    tg_app: App, fake: FakeTelegram, clock: ManualClock
) -> None:
    order = _demo_order(tg_app, clock)
    async with running_channel(tg_app, fake):
        fake.message(201, f"/order {order.id}")
        asked = (await fake.wait_sent(201))[0]
        assert asked.text == text(tg_app, "order.ask_verification", order=order.id)
        fake.message(201, "not-the-buyer@example.org")
        refused = (await fake.wait_sent(201, 2))[1]
        assert refused.text == text(tg_app, "order.not_verified", order=order.id)
        fake.message(201, f"/order {order.id}")
        fake.message(201, order.email)
        shown = (await fake.wait_sent(201, 4))[3]
        status = text(tg_app, f"order.status.{order.status}")
        assert text(tg_app, "order.summary", order=order.id, status=status) in shown.text

        # another customer asking about the same order sees nothing of it
        fake.message(202, f"/order {order.id}")
        other = (await fake.wait_sent(202))[0]
        assert order.email not in other.text and status not in other.text


async def test_staff_commands_for_staff_only(
    tg_app: App, fake: FakeTelegram, clock: ManualClock
) -> None:
    order = _demo_order(tg_app, clock)
    with tg_app.sessions() as session:
        sku = session.scalars(select(Product.sku).order_by(Product.sku)).first()
    staff_language = tg_app.settings.support.staff_language
    async with running_channel(tg_app, fake):
        fake.message(301, f"/stock {sku}")
        fake.message(302, "/tickets")
        refusal = text(tg_app, "staff.only")
        assert [m.text for m in await fake.wait_sent(301)] == [refusal]
        assert [m.text for m in await fake.wait_sent(302)] == [refusal]

        fake.message(STAFF_USER, f"/stock {sku}", chat_id=STAFF_CHAT, language_code="zh")
        stock = (await fake.wait_sent(STAFF_CHAT))[0]
        assert sku in stock.text and stock.text != text(tg_app, "staff.only", staff_language)
        fake.message(STAFF_USER, f"/order@{fake.username} {order.id}", chat_id=STAFF_CHAT)
        full = (await fake.wait_sent(STAFF_CHAT, 2))[1]
        assert order.email in full.text  # staff see the order in full, customers never did
        assert full.reply_to is not None  # answers the command in the group


async def test_photos_and_stickers_get_please_write_text_and_edits_are_answered(
    tg_app: App, fake: FakeTelegram
) -> None:
    async with running_channel(tg_app, fake):
        fake.photo(401, caption="look")
        fake.sticker(401)
        first, second = await fake.wait_sent(401, 2)
        assert first.text == second.text == text(tg_app, "input.non_text")
        fake.message(402, "How do I return an item?", edited=True)
        edited = (await fake.wait_sent(402))[0]
        assert edited.text == answer(tg_app, "en", "returns_policy")


async def test_other_groups_only_when_mentioned(tg_app: App, fake: FakeTelegram) -> None:
    group = -100777
    handle = f"@{fake.username}"
    async with running_channel(tg_app, fake):
        fake.message(501, "How do I return an item?", chat_id=group)
        fake.message(501, "/help@some_other_bot", chat_id=group)
        asked = fake.message(
            501,
            f"{handle} How do I return an item?",
            chat_id=group,
            entities=[{"type": "mention", "offset": 0, "length": len(handle)}],
        )
        replies = await fake.wait_sent(group)
        await fake.wait_for(lambda: not fake.updates, what="all updates fetched")
    assert [m.text for m in fake.sent_to(group)] == [answer(tg_app, "en", "returns_policy")]
    assert replies[0].reply_to == asked["message"]["message_id"]


async def test_long_answer_is_split_on_paragraphs(tg_app: App, fake: FakeTelegram) -> None:
    full = answer(tg_app, "en", "size_guide")
    assert utf16_length(full) > MAX_TEXT  # the test KB makes it long
    async with running_channel(tg_app, fake):
        fake.message(601, "Where is the size guide?")
        await fake.wait_for(lambda: fake.sent_to(601) and fake.sent_to(601)[-1].buttons)
    parts = fake.sent_to(601)
    assert len(parts) >= 2 and all(utf16_length(p.text) <= MAX_TEXT for p in parts)
    assert "\n\n".join(p.text for p in parts) == full  # cut between paragraphs, nothing lost
    assert all(p.text.endswith(LONG_PARAGRAPH.strip()) for p in parts)
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_escalation_reaches_staff_escaped_and_staff_answer_in_the_thread(
    tg_app: App, fake: FakeTelegram
) -> None:
    nasty = "<b>My parcel</b> never arrived & <script>alert(1)</script> </i> &amp; 📦 שלום"
    async with running_channel(tg_app, fake):
        fake.message(701, nasty)
        confirmation = (await fake.wait_sent(701))[0]
        card = (await fake.wait_sent(STAFF_CHAT))[0]
        with tg_app.sessions() as session:
            ticket = session.scalars(select(Ticket)).one()
        assert confirmation.text.startswith(
            text(tg_app, "escalation.opened", ticket=ticket.id)[:20]
        )
        assert nasty in card.text  # shown exactly as the customer typed it
        assert card.parse_mode == "HTML" and "<b>" not in card.raw_text
        assert any(action.startswith("claim:") for action in actions(card))

        fake.message(STAFF_USER, "We are on it <3 & checking", chat_id=STAFF_CHAT, reply_to=card)
        relayed = (await fake.wait_sent(701, 2))[1]
        assert relayed.text.startswith("We are on it <3 & checking")
        await fake.wait_for(lambda: card.edits >= 1, what="the card to show the claim")


async def test_a_burst_of_customers_is_answered_once_each_and_in_order(
    tg_app: App, fake: FakeTelegram
) -> None:
    """Many customers at once go to the router in batches: each gets exactly their answer, and
    one customer's quick messages are answered in the order they were sent."""
    customers = range(300, 360)
    async with running_channel(tg_app, fake):
        english, german = "How long does delivery take?", "Wie lange dauert der Versand?"
        for user in customers:
            fake.message(
                user, english if user % 2 else german, language_code="en" if user % 2 else "de"
            )
        for words in ("hello", "How long does delivery take to Canada?", "thanks, bye"):
            fake.message(999, words, language_code="en")
        for user in customers:
            sent = await fake.wait_sent(user)
            assert len(sent) == 1
            assert sent[0].text == answer(tg_app, "en" if user % 2 else "de", "shipping_time")
        in_order = await fake.wait_sent(999, 3)
    assert in_order[1].text == answer(tg_app, "en", "shipping_time")
    assert in_order[0].text == text(tg_app, "smalltalk.greeting")
    assert len(fake.sent_to(999)) == 3
    with tg_app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == len(customers) + 1
        logged = session.scalar(select(func.count()).select_from(ConversationEntry))
        assert logged == 2 * (len(customers) + 3)


async def test_crossdesk_run_serves_telegram_until_stopped(
    db_url: str, kb_knowledge, clock: ManualClock, fake: FakeTelegram
) -> None:  # type: ignore[no-untyped-def]
    """``serve`` as ``crossdesk run`` calls it: the channel answers, the start-up objects are
    left out of garbage collection, and setting ``stop`` ends it cleanly."""
    settings = Settings(
        store={"url": db_url},
        support={"knowledge_base": str(kb_knowledge.kb.path)},
        telegram={"token": fake.token, "base_url": fake.base_url, "rate_limit": False},
        alerts={"enabled": False},
    )
    app = build_app(settings, clock=clock, knowledge=kb_knowledge)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(app, stop))
    try:
        fake.message(501, "How long does delivery take to Canada?", language_code="en")
        sent = await fake.wait_sent(501)
        assert sent[0].text == answer(app, "en", "shipping_time")
        assert gc.get_freeze_count() > 0
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        gc.unfreeze()
        app.close()
    assert running.exception() is None
