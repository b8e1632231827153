"""The Slack channel end to end: the real slack-bolt app served by uvicorn, signed HTTP requests
sent to it as Slack sends them, and the real slack-sdk client talking to a fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date

import pytest
from sqlalchemy import func, select

from bot.channels.slack_render import escape
from bot.channels.slack_sender import private_in
from handlers.messages import IncomingMessage
from store.demo import generate_demo_shop
from store.models import Contact, Order
from tests.channels.slack_harness import (
    CUSTOMER,
    CUSTOMERS,
    OUTSIDER,
    SECRET,
    STAFF,
    STAFF_CHANNEL,
    Desk,
    buttons_of,
    command,
    event,
    posts_to,
    section_text,
    send,
)
from tests.fakes.slack_api import BOT_USER, TOKEN, FakeSlack, deliver

# --- slash commands --------------------------------------------------------------------------


@pytest.fixture
def order(desk: Desk) -> Order:
    with desk.app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=20, products=5, seed=3, today=date(2026, 3, 10))
        found = session.scalars(select(Order).order_by(Order.id)).first()
        assert found is not None
        session.expunge(found)
        return found


async def test_staff_order_command_is_acked_then_answered_privately(
    desk: Desk, order: Order
) -> None:
    url = desk.slack.response_url("staff-order")
    status = await send(desk, command("/order", order.id, STAFF, STAFF_CHANNEL, url))
    assert status == 200
    answer = await desk.slack.wait_for(lambda s: s.calls_to("respond/staff-order"))
    expected = desk.app.router.handle(
        IncomingMessage.from_text(
            "console", "probe", "staff", f"/order {order.id}", is_staff=True, in_staff_chat=True
        )
    )[0]
    assert expected.private  # the order holds personal data
    params = answer[0].params
    assert params["response_type"] == "ephemeral"
    assert section_text(params) == escape(expected.text)
    assert order.id in section_text(params) and escape(order.email) in section_text(params)


async def test_non_staff_get_a_polite_refusal_and_no_data(desk: Desk, order: Order) -> None:
    for name, text in (("/order", order.id), ("/stock", "NW-TEE-BLK"), ("/tickets", "")):
        where = f"refused-{name.strip('/')}"
        url = desk.slack.response_url(where)
        assert await send(desk, command(name, text, OUTSIDER, "CGENERAL", url)) == 200
        answer = await desk.slack.wait_for(lambda s, w=where: s.calls_to(f"respond/{w}"))
        shown = section_text(answer[0].params)
        assert shown == escape(desk.text("staff.only"))
        assert answer[0].params["response_type"] == "ephemeral"
        assert order.email not in json.dumps(answer[0].params)


async def test_staff_listing_in_the_staff_channel_is_visible_to_the_channel(desk: Desk) -> None:
    url = desk.slack.response_url("tickets")
    await send(desk, command("/tickets", "", STAFF, STAFF_CHANNEL, url))
    answer = await desk.slack.wait_for(lambda s: s.calls_to("respond/tickets"))
    assert section_text(answer[0].params) == escape(desk.text("staff.tickets.none"))
    assert answer[0].params["response_type"] == "in_channel"


# --- request verification ------------------------------------------------------------------


async def test_unsigned_forged_and_replayed_requests_get_401_and_do_nothing(
    desk: Desk, order: Order
) -> None:
    def body(name: str) -> bytes:
        return command("/order", order.id, STAFF, STAFF_CHANNEL, desk.slack.response_url(name))

    assert await send(desk, body("unsigned"), secret=None) == 401
    assert await send(desk, body("wrong-secret"), secret="not-the-secret") == 401
    assert await send(desk, body("forged"), signature_override="v0=" + "0" * 64) == 401
    assert await send(desk, body("stale"), age=6 * 60) == 401  # older than 5 minutes
    message = event("EvForged", user=CUSTOMER, channel=CUSTOMERS, text="hi", ts="1.1")
    assert await send(desk, message, secret="not-the-secret") == 401
    # a properly signed request afterwards is answered: the server was listening all along
    assert await send(desk, body("signed")) == 200
    await desk.slack.wait_for(lambda s: s.calls_to("respond/signed"))
    answered = {c.method for c in desk.slack.calls if c.method.startswith("respond/")}
    assert answered == {"respond/signed"}
    assert not posts_to(desk.slack, CUSTOMERS)
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
    # a forged copy does not poison the memory of seen events: the real one is processed
    assert await send(desk, message) == 200
    await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))


async def test_url_verification_is_answered_only_when_signed(desk: Desk) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"}).encode()
    status, text = await deliver(desk.url, body, secret=SECRET, content_type="application/json")
    assert status == 200 and "c-123" in text
    status, text = await deliver(desk.url, body, secret=None, content_type="application/json")
    assert status == 401 and "c-123" not in text


# --- events ----------------------------------------------------------------------------------


async def test_customer_message_is_answered_in_the_channel(desk: Desk) -> None:
    text = "How long does shipping take to Canada?"
    status = await send(desk, event("Ev1", user=CUSTOMER, channel=CUSTOMERS, text=text, ts="1.1"))
    assert status == 200
    posted = await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))
    probe = IncomingMessage.from_text("console", "probe", "probe", text, language_hint="en-US")
    expected = desk.app.router.handle(probe)[0]
    assert section_text(posted[0]) == escape(expected.text)
    assert [e["value"] for e in buttons_of(posted[0])] == [
        b.action for row in expected.buttons for b in row
    ]
    assert "thread_ts" not in posted[0]  # a top-level message gets a top-level answer
    with desk.app.sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.channel == "slack")).one()
        # reached privately: what is sent to the contact later (a ticket's replies) is shown
        # to them alone in the shared channel, never posted for everyone there
        assert (contact.channel, contact.external_id, contact.chat_id) == (
            "slack",
            CUSTOMER,
            private_in(CUSTOMERS, CUSTOMER),
        )
        assert contact.display_name == "Dana"


async def test_redelivered_event_is_acknowledged_and_processed_once(desk: Desk) -> None:
    first = event("EvTwice", user=CUSTOMER, channel=CUSTOMERS, text="hello there", ts="2.1")
    assert await send(desk, first) == 200
    await desk.slack.wait_for(lambda s: len(posts_to(s, CUSTOMERS)) == 1)
    assert await send(desk, first, retry_num=1) == 200
    assert await send(desk, first, retry_num=2) == 200
    other = event("EvOther", user=CUSTOMER, channel=CUSTOMERS, text="and another", ts="2.2")
    assert await send(desk, other) == 200
    await desk.slack.wait_for(lambda s: len(posts_to(s, CUSTOMERS)) >= 2)
    await desk.channel.settle()  # whatever was started has finished
    assert len(posts_to(desk.slack, CUSTOMERS)) == 2


async def test_edits_bots_joins_and_other_channels_are_ignored(desk: Desk) -> None:
    ignored = [
        event(
            "E1",
            subtype="message_changed",
            channel=CUSTOMERS,
            ts="3.1",
            message={"user": CUSTOMER, "text": "edited"},
        ),
        event("E2", subtype="bot_message", bot_id="BOTHER", channel=CUSTOMERS, text="x", ts="3.2"),
        event("E3", subtype="channel_join", user=CUSTOMER, channel=CUSTOMERS, text="j", ts="3.3"),
        event("E4", user=CUSTOMER, channel="CRANDOM", text="not a customer channel", ts="3.4"),
        event("E5", user=BOT_USER, channel=CUSTOMERS, text="my own message", ts="3.5"),
        event("E6", user=STAFF, channel=STAFF_CHANNEL, text="top-level staff chat", ts="3.6"),
        event("E7", user=STAFF, channel=CUSTOMERS, text="staff answering directly", ts="3.7"),
        event("E9", type="app_mention", user=CUSTOMER, channel=CUSTOMERS, text="<@UBOT>", ts="4"),
    ]
    for body in ignored:
        assert await send(desk, body) == 200
    barrier = event("E8", user=CUSTOMER, channel=CUSTOMERS, text="a real question", ts="3.8")
    await send(desk, barrier)
    await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))
    await desk.channel.settle()
    assert len(posts_to(desk.slack, CUSTOMERS)) == 1
    assert not posts_to(desk.slack, STAFF_CHANNEL) and not posts_to(desk.slack, "CRANDOM")
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


async def test_direct_message_uses_the_user_locale_as_language_hint(
    desk: Desk, slack: FakeSlack
) -> None:
    slack.add_user("UGERMAN", "Jonas", "de-DE")
    body = event("EvDM", user="UGERMAN", channel="DJONAS", channel_type="im", text="ok", ts="4.1")
    await send(desk, body)
    await desk.slack.wait_for(lambda s: posts_to(s, "DJONAS"))
    with desk.app.sessions() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.chat_id == "DJONAS" and contact.language == "de"


async def test_order_details_in_a_shared_channel_are_shown_only_to_the_customer(
    desk: Desk, order: Order
) -> None:
    asked = event(
        "EvAsk", user=CUSTOMER, channel=CUSTOMERS, text=f"where is order {order.id}?", ts="6.1"
    )
    await send(desk, asked)
    await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))
    # Slack links an e-mail address the customer types
    proof = f"<mailto:{order.email}|{order.email}>"
    await send(desk, event("EvProof", user=CUSTOMER, channel=CUSTOMERS, text=proof, ts="6.2"))
    private = await desk.slack.wait_for(lambda s: s.calls_to("chat.postEphemeral"))
    assert private[0].params["user"] == CUSTOMER and private[0].params["channel"] == CUSTOMERS
    assert order.id in section_text(private[0].params)
    await desk.channel.settle()
    public = json.dumps(posts_to(desk.slack, CUSTOMERS))
    assert len(posts_to(desk.slack, CUSTOMERS)) == 1 and order.email not in public


async def test_command_arguments_are_escaped_in_the_answer(desk: Desk) -> None:
    url = desk.slack.response_url("stock")
    # as Slack sends it: a real broadcast mention and escaped markup
    await send(desk, command("/stock", "<!channel>&amp;&lt;b&gt;", STAFF, STAFF_CHANNEL, url))
    answer = await desk.slack.wait_for(lambda s: s.calls_to("respond/stock"))
    shown = section_text(answer[0].params)
    assert "<" not in shown and "@\u2060channel&amp;&lt;b&gt;" in shown


async def test_a_file_without_text_gets_the_non_text_answer(desk: Desk) -> None:
    body = event(
        "EvFile",
        user=CUSTOMER,
        channel=CUSTOMERS,
        subtype="file_share",
        text="",
        files=[{"id": "F1", "name": "photo.jpg"}],
        ts="6.5",
    )
    await send(desk, body)
    posted = await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))
    assert section_text(posted[0]) == escape(desk.text("input.non_text", "en"))


async def test_oversized_requests_are_refused_unread(desk: Desk) -> None:
    huge = command("/tickets", "x" * (2 * 1024 * 1024), STAFF, STAFF_CHANNEL, "http://x/")
    assert await send(desk, huge) == 401  # refused before authentication, like any forgery
    assert not desk.slack.calls_to("auth.test")  # Bolt never saw it


async def test_logs_hold_neither_message_text_nor_secrets(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    text = "my card number is 4111-SECRET-TEXT"
    message = event("EvLog", user=CUSTOMER, channel=CUSTOMERS, text=text, ts="7.1")
    await send(desk, message)
    await send(desk, message, retry_num=1)  # logged (as a retry), and a proof that logs reach us
    url = desk.slack.response_url("log")
    await send(desk, command("/stock", "SECRET-SKU-TEXT", STAFF, STAFF_CHANNEL, url))
    await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS) and s.calls_to("respond/log"))
    await desk.channel.settle()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "delivered again" in caplog.text
    for secret in ("SECRET-TEXT", "SECRET-SKU", TOKEN, SECRET):
        assert secret not in logged


async def test_events_arriving_together_are_each_answered_once(desk: Desk) -> None:
    """Concurrent events go to the router in batches; every one gets exactly its answer."""
    texts = ["hello there", "How long does shipping take to Canada?", "thanks, bye"]
    bodies = [
        event(f"EvBurst{n}{u}", user=user, channel=CUSTOMERS, text=text, ts=f"3.{n}{u}")
        for n, text in enumerate(texts)
        for u, user in enumerate((CUSTOMER, OUTSIDER))
    ]
    statuses = await asyncio.gather(*(send(desk, body) for body in bodies))
    assert statuses == [200] * len(bodies)
    await desk.slack.wait_for(lambda s: len(posts_to(s, CUSTOMERS)) >= len(bodies))
    await desk.channel.settle()
    posted = [section_text(p) for p in posts_to(desk.slack, CUSTOMERS)]
    assert len(posted) == len(bodies)
    for text in texts:
        probe = IncomingMessage.from_text("console", "probe", "probe", text, language_hint="en")
        expected = escape(desk.app.router.handle(probe)[0].text)
        assert posted.count(expected) == 2, text
    with desk.app.sessions() as session:
        people = session.scalars(select(Contact.external_id).where(Contact.channel == "slack"))
        assert sorted(people) == sorted([CUSTOMER, OUTSIDER])
