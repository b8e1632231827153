"""Issue 6 end to end across platforms: a German customer on Telegram, Chinese-speaking staff on
Slack, the translator faked at its HTTP boundary. Both channels, the router, the outbox and the
delivery worker are the real ones; only the platforms' servers are fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select

from bot.app import App, Knowledge, build_app
from bot.channels.slack import SlackChannel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.delivery import Deliverer
from store.clock import ManualClock
from store.models import Ticket, TicketMessage
from tests.channels.slack_harness import (
    SECRET,
    STAFF,
    STAFF_CHANNEL,
    button,
    buttons_of,
    event,
    fake_slack_with_people,
    posts_to,
    section_text,
    slack_settings,
)
from tests.channels.telegram_harness import telegram_settings
from tests.fakes.slack_api import FakeSlack, deliver
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.translator_api import FakeTranslator, start_fake_translator

CUSTOMER = 9001
DISPUTE = "Das Paket kam kaputt an, die Tasse ist zerbrochen. Ich will mein Geld zurück!"
STAFF_REPLY = "非常抱歉，我们今天给您补发一个新的。"
STAFF_REPLY_DE = "Das tut uns sehr leid, wir schicken Ihnen heute eine neue."


@pytest.fixture
def translator() -> Iterator[FakeTranslator]:
    state, server = start_fake_translator()
    state.dictionary[("zh", "de", STAFF_REPLY)] = STAFF_REPLY_DE
    yield state
    server.shutdown()


@asynccontextmanager
async def desk_across(
    db_url: str, clock: ManualClock, knowledge: Knowledge, translator: FakeTranslator
) -> AsyncIterator[tuple[App, FakeTelegram, FakeSlack, SlackChannel]]:
    async with FakeTelegram() as telegram, fake_slack_with_people() as slack:
        settings = Settings(
            store={"url": db_url},
            slack=slack_settings(slack.base_url),
            translation={"provider": "libre", "url": translator.url, "timeout": 2},
        )
        app = build_app(settings, clock=clock, staff_channels=["slack"], knowledge=knowledge)
        deliverer = Deliverer(app.sessions, {}, clock=clock)
        customers = TelegramChannel(telegram_settings(telegram), app, deliverer)
        staff = SlackChannel(settings.slack, app, deliverer)
        deliverer.senders.update({customers.name: customers.sender, "slack": staff.sender})
        await customers.start()
        await staff.start()
        worker = asyncio.create_task(deliverer.run_forever(poll_seconds=0.05))
        try:
            yield app, telegram, slack, staff
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await staff.stop()
            await customers.stop()
            app.close()


def staff_url(channel: SlackChannel) -> str:
    return f"http://127.0.0.1:{channel.port}/slack/events"


async def test_german_customer_on_telegram_and_chinese_staff_on_slack(
    db_url: str, clock: ManualClock, knowledge: Knowledge, translator: FakeTranslator
) -> None:
    async with desk_across(db_url, clock, knowledge, translator) as (app, telegram, slack, staff):
        url = staff_url(staff)
        telegram.message(CUSTOMER, DISPUTE, language_code="de")
        told = (await telegram.wait_sent(CUSTOMER))[0]
        assert told.text.startswith(app.knowledge.texts.get("escalation.opened", "de")[:12])

        cards = await slack.wait_for(
            lambda s: [p for p in posts_to(s, STAFF_CHANNEL) if buttons_of(p)]
        )
        card_text = section_text(cards[0])
        assert f"[zh] {DISPUTE}"[:40] in card_text  # translated for staff ...
        assert DISPUTE[:40] in card_text  # ... with the original beside it
        ts = next(ts for (channel, ts) in slack.messages if channel == STAFF_CHANNEL)
        card = slack.messages[(STAFF_CHANNEL, ts)]

        claim = next(e for e in buttons_of(card) if e["value"].startswith("claim:"))
        assert await send_to(url, button(STAFF, STAFF_CHANNEL, card, claim)) == 200
        await slack.wait_for(lambda s: s.calls_to("chat.update"))

        reply = event("Ev1", user=STAFF, channel=STAFF_CHANNEL, text=STAFF_REPLY, ts="9.1",
                      thread_ts=card["ts"])  # fmt: skip
        assert await send_to(url, reply) == 200

        def relayed() -> list:  # type: ignore[type-arg]
            return [m for m in telegram.sent_to(CUSTOMER) if STAFF_REPLY_DE in m.text]

        await telegram.wait_for(relayed, what="the staff reply in German")
        assert STAFF_REPLY not in relayed()[0].text

        note = event("Ev2", user=STAFF, channel=STAFF_CHANNEL, text="// 客户很生气，优先处理",
                     ts="9.2", thread_ts=card["ts"])  # fmt: skip
        assert await send_to(url, note) == 200
        card = slack.messages[(STAFF_CHANNEL, ts)]
        resolve = next(e for e in buttons_of(card) if e["value"].startswith("resolve:"))
        assert await send_to(url, button(STAFF, STAFF_CHANNEL, card, resolve)) == 200
        question = app.knowledge.texts.get("handoff.satisfaction", "de")[:12]
        await telegram.wait_for(
            lambda: [m for m in telegram.sent_to(CUSTOMER) if question in m.text],
            what="the satisfaction question",
        )
        # the note never reached the customer, in any language
        assert not [m for m in telegram.sent_to(CUSTOMER) if "客户很生气" in m.text]
        assert not [m for m in telegram.sent_to(CUSTOMER) if "[de] //" in m.text]

        telegram.message(CUSTOMER, "5", language_code="de")
        await telegram.wait_for(lambda: _satisfaction(app) == 5, what="the rating stored")

    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).one()
        lines = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert (ticket.state, ticket.assignee, ticket.language) == ("resolved", "Li Wei", "de")
    assert any(line.text == STAFF_REPLY for line in lines)  # the original kept in the transcript
    assert any("客户很生气" in line.text for line in lines)  # the note, for staff only


async def send_to(url: str, body: bytes) -> int:
    """Deliver a request to the Slack app as Slack would, signed."""
    content_type = "application/json" if body.startswith(b"{") else None
    how = {"secret": SECRET, **({"content_type": content_type} if content_type else {})}
    status, _ = await deliver(url, body, **how)
    return status


def _satisfaction(app: App) -> int | None:
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).first()
        return ticket.satisfaction if ticket else None
