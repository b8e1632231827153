"""Issue 14's handoff through the real clients against the fake servers: a Spanish customer and
staff on Telegram with /claim and /resolve typed in the staff chat, and a Japanese customer on
Telegram with staff on Slack using the /claim slash command, whose quiet ticket then closes
itself (the injected clock, not a sleep) and asks for a rating; and /claim, /resolve as Slack
slash commands for a customer on Slack."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app import App, Knowledge
from bot.channels.slack_render import escape
from bot.channels.slack_sender import private_in
from handlers.messages import IncomingMessage
from handlers.ticket_expiry import close_quiet_tickets
from store.clock import ManualClock
from store.models import Ticket
from tests.channels.slack_harness import CUSTOMER as CUSTOMER_ON_SLACK
from tests.channels.slack_harness import (
    CUSTOMERS,
    STAFF,
    STAFF_CHANNEL,
    Desk,
    command,
    posts_to,
    section_text,
    send,
)
from tests.channels.telegram_harness import STAFF_CHAT, STAFF_USER, running_channel, telegram_app
from tests.channels.test_handoff_across import desk_across, send_to, staff_url
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.translator_api import FakeTranslator, start_fake_translator

CUSTOMER = 9101


@pytest.fixture
def translator() -> Iterator[FakeTranslator]:
    state, server = start_fake_translator()
    yield state
    server.shutdown()


def text(app: App, key: str, language: str, **values: object) -> str:
    return app.knowledge.texts.get(key, language, **values)


def faq_answer(app: App, entry: str, language: str) -> str:
    return app.knowledge.texts.fill(app.knowledge.kb.faq[language][entry].answer)


async def test_spanish_customer_and_staff_on_telegram_claim_and_resolve_by_command(
    db_url: str, clock: ManualClock, knowledge: Knowledge, fake: FakeTelegram
) -> None:
    app = telegram_app(db_url, knowledge, clock)
    try:
        async with running_channel(app, fake):
            fake.message(CUSTOMER, "¿Cuánto tarda el envío?", language_code="es")
            assert (await fake.wait_sent(CUSTOMER))[0].text == faq_answer(
                app, "shipping_time", "es"
            )
            fake.message(CUSTOMER, "Me gustaría hablar con una persona", language_code="es")
            opened = (await fake.wait_sent(CUSTOMER, 2))[1].text
            assert opened.startswith(text(app, "escalation.opened_neutral", "es", ticket=1)[:20])

            card = (await fake.wait_sent(STAFF_CHAT))[0]
            assert text(app, "staff.ticket.before_handoff", "zh") in card.text
            assert "¿Cuánto tarda el envío?" in card.text

            fake.message(STAFF_USER, "/claim 1", chat_id=STAFF_CHAT, language_code="zh")
            claimed = text(app, "handoff.claimed", "es", agent="")[:6]
            await fake.wait_for(
                lambda: any(claimed in m.text for m in fake.sent_to(CUSTOMER)),
                what="the claim told to the customer in Spanish",
            )

            # claimed: the FAQ answer goes to staff to send, not to the customer
            before = len(fake.sent_to(CUSTOMER))
            fake.message(CUSTOMER, "¿Cómo puedo devolver un artículo?", language_code="es")

            def suggestions() -> list:  # type: ignore[type-arg]
                return [
                    m
                    for m in fake.sent_to(STAFF_CHAT)
                    if any(data.startswith("answer:") for row in m.buttons for _, data in row)
                ]

            await fake.wait_for(suggestions, what="the FAQ answer suggested to staff")
            assert len(fake.sent_to(CUSTOMER)) == before
            suggestion = suggestions()[0]
            fake.press(STAFF_USER, suggestion.buttons[0][0][1], suggestion, language_code="zh")
            returns = faq_answer(app, "returns_policy", "es")[:40]
            await fake.wait_for(
                lambda: any(returns in m.text for m in fake.sent_to(CUSTOMER)),
                what="the suggested answer sent in Spanish",
            )

            fake.message(STAFF_USER, "/resolve 1", chat_id=STAFF_CHAT, language_code="zh")
            question = text(app, "handoff.satisfaction", "es")
            await fake.wait_for(
                lambda: any(m.text == question for m in fake.sent_to(CUSTOMER)),
                what="the rating question in Spanish",
            )
            rating = next(m for m in fake.sent_to(CUSTOMER) if m.text == question)
            assert [data for _, data in rating.buttons[0]] == [f"rate:1:{n}" for n in range(1, 6)]
            resolved = text(app, "staff.ticket.resolved_by", "zh", agent="{agent}").split("{agent}")
            await fake.wait_for(
                lambda: any(resolved[0] in m.text for m in fake.sent_to(STAFF_CHAT)),
                what="the resolve answered in the staff chat",
            )
    finally:
        app.close()


async def test_japanese_customer_on_telegram_staff_on_slack_claim_then_quiet_close(
    db_url: str, clock: ManualClock, knowledge: Knowledge, translator: FakeTranslator
) -> None:
    async with desk_across(db_url, clock, knowledge, translator) as (app, telegram, slack, staff):
        telegram.message(CUSTOMER, "配送にはどのくらいかかりますか？", language_code="ja")
        await telegram.wait_sent(CUSTOMER)
        telegram.message(CUSTOMER, "人と話したいです", language_code="ja")
        opened = (await telegram.wait_sent(CUSTOMER, 2))[1].text
        assert opened.startswith(text(app, "escalation.opened_neutral", "ja", ticket=1)[:10])
        cards = await slack.wait_for(lambda s: posts_to(s, STAFF_CHANNEL))
        card = section_text(cards[0])
        assert "[zh] 配送にはどのくらいかかりますか？" in card  # the conversation, translated

        url = staff_url(staff)
        claim = command("/claim", "1", STAFF, STAFF_CHANNEL, slack.response_url("claim"))
        assert await send_to(url, claim) == 200
        answer = await slack.wait_for(lambda s: s.calls_to("respond/claim"))
        assert text(app, "staff.ticket.claimed_by", "zh", agent="Li Wei") in section_text(
            answer[0].params
        )
        told = text(app, "handoff.claimed", "ja", agent="Li Wei")
        await telegram.wait_for(
            lambda: any(m.text == told for m in telegram.sent_to(CUSTOMER)),
            what="the claim in Japanese",
        )
        tickets = command("/tickets", "mine", STAFF, STAFF_CHANNEL, slack.response_url("mine"))
        assert await send_to(url, tickets) == 200
        mine = await slack.wait_for(lambda s: s.calls_to("respond/mine"))
        assert section_text(mine[0].params).startswith("#1 ")

        # nobody writes for two days: the ticket closes itself and asks for a rating
        clock.advance(hours=49)
        assert await asyncio.to_thread(_sweep, app) == 1
        question = text(app, "handoff.satisfaction", "ja")
        await telegram.wait_for(
            lambda: any(m.text == question for m in telegram.sent_to(CUSTOMER)),
            what="the rating question in Japanese",
        )
        texts = [m.text for m in telegram.sent_to(CUSTOMER)]
        assert text(app, "handoff.auto_closed", "ja") in texts
        rating = next(m for m in telegram.sent_to(CUSTOMER) if m.text == question)
        telegram.press(CUSTOMER, "rate:1:4", rating, language_code="ja")
        await telegram.wait_for(lambda: _satisfaction(app) == 4, what="the rating stored")
        thanks = text(app, "handoff.satisfaction_thanks", "ja")
        await telegram.wait_for(
            lambda: telegram.sent_to(CUSTOMER)[-1].text == thanks, what="thanks in Japanese"
        )


def _sweep(app: App) -> int:
    with app.sessions() as session, session.begin():
        return close_quiet_tickets(app.services, session)


def _satisfaction(app: App) -> int | None:
    with app.sessions() as session:
        ticket = session.scalars(select(Ticket)).first()
        return ticket.satisfaction if ticket else None


async def test_claim_and_resolve_as_slack_slash_commands(desk: Desk) -> None:
    """Staff and a customer both on Slack: /claim 1 and /resolve 1 from the staff channel."""
    opened = IncomingMessage.from_text(  # as the Slack listener makes it: reached privately
        "slack",
        CUSTOMER_ON_SLACK,
        CUSTOMERS,
        "/human",
        private_chat_id=private_in(CUSTOMERS, CUSTOMER_ON_SLACK),
    )
    assert desk.app.router.handle(opened)
    url = desk.slack.response_url
    task = asyncio.create_task(desk.deliverer.run_forever(poll_seconds=0.05))
    try:
        assert await send(desk, command("/claim", "1", STAFF, STAFF_CHANNEL, url("c"))) == 200
        claimed = await desk.slack.wait_for(lambda s: s.calls_to("respond/c"))
        assert section_text(claimed[0].params) == escape(
            desk.text("staff.ticket.claimed_by", agent="Li Wei")
        )
        assert await send(desk, command("/resolve", "1", STAFF, STAFF_CHANNEL, url("r"))) == 200
        resolved = await desk.slack.wait_for(lambda s: s.calls_to("respond/r"))
        assert section_text(resolved[0].params) == escape(
            desk.text("staff.ticket.resolved_by", agent="Li Wei")
        )
        question = escape(desk.text("handoff.satisfaction", "en"))
        asked = await desk.slack.wait_for(
            lambda s: [
                c.params
                for c in s.calls_to("chat.postEphemeral")
                if section_text(c.params) == question
            ]
        )
        assert asked[0]["user"] == CUSTOMER_ON_SLACK  # shown to the customer alone
        assert not [p for p in posts_to(desk.slack, CUSTOMERS) if section_text(p) == question]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    with desk.app.sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and (ticket.state, ticket.assignee) == ("resolved", "Li Wei")
