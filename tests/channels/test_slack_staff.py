"""The Slack staff side end to end: ticket cards, buttons that update them, thread replies relayed
to the customer, escaping of what customers write, and rate limits from the Web API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.channels.slack_render import escape
from bot.channels.slack_sender import private_in
from handlers.messages import IncomingMessage
from store.clock import ManualClock
from store.models import OutboxMessage, Ticket
from tests.channels.slack_harness import (
    CUSTOMER,
    CUSTOMERS,
    OUTSIDER,
    STAFF,
    STAFF_CHANNEL,
    Desk,
    button,
    buttons_of,
    event,
    posts_to,
    section_text,
    send,
)
from tests.fakes.slack_api import FakeSlack


def open_ticket(desk: Desk) -> None:
    """The customer asks for a person in the shared channel (through the router, as the Slack
    listener would: reached privately there)."""
    message = IncomingMessage.from_text(
        "slack",
        CUSTOMER,
        CUSTOMERS,
        "/human",
        display_name="Dana",
        private_chat_id=private_in(CUSTOMERS, CUSTOMER),
    )
    assert desk.app.router.handle(message)


async def post_card(desk: Desk) -> dict[str, Any]:
    """Deliver the ticket card to the staff channel; return it as Slack stored it."""
    open_ticket(desk)
    assert await desk.deliverer.run_once() >= 1
    cards = [p for p in posts_to(desk.slack, STAFF_CHANNEL) if buttons_of(p)]
    assert len(cards) == 1
    ts = next(ts for (channel, ts) in desk.slack.messages if channel == STAFF_CHANNEL)
    return desk.slack.messages[(STAFF_CHANNEL, ts)]


def told_privately(slack: FakeSlack) -> list[dict[str, Any]]:
    """What was shown to the customer alone in the shared channel (ephemeral)."""
    return [
        c.params
        for c in slack.calls_to("chat.postEphemeral")
        if (c.params["channel"], c.params["user"]) == (CUSTOMERS, CUSTOMER)
    ]


@asynccontextmanager
async def delivering(desk: Desk) -> AsyncIterator[None]:
    """The outbox worker as the runtime runs it: sends when the channel wakes it."""
    task = asyncio.create_task(desk.deliverer.run_forever(poll_seconds=3600))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def ticket(desk: Desk) -> Ticket:
    with desk.app.sessions() as session:
        found = session.get(Ticket, 1)
        assert found is not None
        session.expunge(found)
        return found


async def test_claim_button_updates_the_card_and_tells_the_customer(desk: Desk) -> None:
    card = await post_card(desk)
    claim = next(e for e in buttons_of(card) if e["value"] == "claim:1")
    claimed_by = escape(desk.text("staff.ticket.claimed_by", agent="Li Wei"))
    async with delivering(desk):
        assert await send(desk, button(STAFF, STAFF_CHANNEL, card, claim)) == 200
        updates = await desk.slack.wait_for(lambda s: s.calls_to("chat.update"))
        # the reply to the person who pressed goes into the card's thread
        thread = await desk.slack.wait_for(
            lambda s: [p for p in posts_to(s, STAFF_CHANNEL) if p.get("thread_ts") == card["ts"]]
        )
        told = await desk.slack.wait_for(lambda s: told_privately(s))
    assert updates[0].params["ts"] == card["ts"] and updates[0].params["channel"] == STAFF_CHANNEL
    updated = desk.slack.messages[(STAFF_CHANNEL, card["ts"])]
    assert claimed_by in section_text(updated)
    assert "claim:1" not in [e["value"] for e in buttons_of(updated)]  # nobody can claim twice
    assert section_text(thread[0]) == claimed_by
    assert "Li Wei" in section_text(told[0])
    assert not posts_to(desk.slack, CUSTOMERS)  # nothing of the ticket for the whole channel
    assert (ticket(desk).state, ticket(desk).assignee) == ("claimed", "Li Wei")


async def test_staff_thread_reply_reaches_the_customer_unescaped_once(desk: Desk) -> None:
    card = await post_card(desk)
    # Slack sends "&", "<", ">" escaped; the customer must see them once, as typed
    said = "Replacement ships tomorrow &amp; it's free &lt;3"
    async with delivering(desk):
        reply = event(
            "EvStaff", user=STAFF, channel=STAFF_CHANNEL, text=said, ts="8.1", thread_ts=card["ts"]
        )
        assert await send(desk, reply) == 200
        relayed = await desk.slack.wait_for(
            lambda s: [p for p in told_privately(s) if "Replacement" in section_text(p)]
        )
        # answering a ticket claims it: the card shows who
        await desk.slack.wait_for(lambda s: s.calls_to("chat.update"))
    assert escape("Replacement ships tomorrow & it's free <3") in section_text(relayed[0])
    assert "&amp;amp;" not in section_text(relayed[0])
    assert ticket(desk).assignee == "Li Wei"


async def test_customer_text_is_escaped_in_the_staff_thread(desk: Desk) -> None:
    card = await post_card(desk)
    # as Slack delivers it: a real broadcast mention, a user mention, escaped markup, a link
    raw = "<!channel> refund NOW &amp; <@U999> &lt;script&gt; @here <https://evil.example|bank>"
    async with delivering(desk):
        message = event("EvEvil", user=CUSTOMER, channel=CUSTOMERS, text=raw, ts="9.1")
        assert await send(desk, message) == 200
        lines = await desk.slack.wait_for(
            lambda s: [p for p in posts_to(s, STAFF_CHANNEL) if "refund" in section_text(p)]
        )
    line = lines[0]
    assert line["thread_ts"] == card["ts"]
    shown = section_text(line) + line["text"]
    for markup in ("<!", "<@", "<http", "<script"):
        assert markup not in shown
    assert "&amp; @U999 &lt;script&gt;" in shown
    assert "@\u2060channel" in shown and "@\u2060here" in shown  # no broadcast
    assert "bank (https://evil.example)" in shown  # the real address stays visible


async def test_outsiders_pressing_staff_buttons_change_nothing(desk: Desk) -> None:
    card = await post_card(desk)
    resolve = next(e for e in buttons_of(card) if e["value"] == "resolve:1")
    async with delivering(desk):
        assert await send(desk, button(OUTSIDER, STAFF_CHANNEL, card, resolve)) == 200
        await asyncio.sleep(0)  # let the listener start its work
        await desk.channel.settle()
    assert ticket(desk).state == "open"
    assert not desk.slack.calls_to("chat.update")


async def test_rate_limited_post_is_retried_by_the_sdk_and_delivered_once(desk: Desk) -> None:
    desk.slack.fail("chat.postMessage", status=429, retry_after=0)
    open_ticket(desk)
    assert await desk.deliverer.run_once() == 1
    assert len(desk.slack.calls_to("chat.postMessage")) == 2  # the 429, then the post
    assert len(desk.slack.messages) == 1


async def test_long_rate_limit_goes_back_to_the_outbox_until_slack_allows(
    desk: Desk, clock: ManualClock
) -> None:
    desk.slack.fail("chat.postMessage", status=429, retry_after=30)
    open_ticket(desk)
    assert await desk.deliverer.run_once() == 0  # not held in the delivery loop for 30 s
    with desk.app.sessions() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.sent_at is None and "ratelimited" in (row.last_error or "")
        assert row.available_at == clock() + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert await desk.deliverer.run_once() == 0
    assert len(desk.slack.calls_to("chat.postMessage")) == 1
    clock.advance(seconds=2)
    assert await desk.deliverer.run_once() == 1
    assert len(desk.slack.messages) == 1


async def test_reply_that_hits_a_rate_limit_is_still_posted(desk: Desk) -> None:
    desk.slack.fail("chat.postMessage", status=429, retry_after=0)
    body = event("EvBusy", user=CUSTOMER, channel=CUSTOMERS, text="hello?", ts="5.1")
    assert await send(desk, body) == 200
    await desk.slack.wait_for(lambda s: s.messages)
    await desk.channel.settle()
    assert len(desk.slack.messages) == 1
    assert len(desk.slack.calls_to("chat.postMessage")) == 2
