"""A shared Slack channel is a group: what belongs to one customer's ticket never shows there.

The IBAN case of ``test_telegram_privacy.py`` on Slack. A customer opens a dispute in the
shared customer channel; staff answer in the ticket card's thread with bank details. Every
member of the shared channel would read a ``chat.postMessage`` (top-level or in a thread, which
anyone in the channel can open) or a ``chat.update`` there, so the reply must reach the
customer only: shown to them alone in the channel (``chat.postEphemeral``) or in their DM with
the app. (Order details in a shared channel: ``test_slack.py``.)
"""

from __future__ import annotations

import json

from sqlalchemy import select

from store.models import Ticket
from tests.channels.slack_harness import (
    CUSTOMER,
    CUSTOMERS,
    STAFF,
    STAFF_CHANNEL,
    Desk,
    buttons_of,
    event,
    posts_to,
    section_text,
)
from tests.channels.slack_harness import send as deliver_to_app
from tests.channels.test_slack_staff import delivering
from tests.fakes.slack_api import FakeSlack

IBAN = "DE89 3704 0044 0532 0130 00"


def seen_by_the_channel(slack: FakeSlack) -> str:
    """Everything every member of the shared channel can read, as one string."""
    shown = [
        call.params
        for method in ("chat.postMessage", "chat.update")
        for call in slack.calls_to(method)
        if call.params.get("channel") == CUSTOMERS
    ]
    return json.dumps(shown, ensure_ascii=False)


def told_privately(slack: FakeSlack) -> list[str]:
    """What reached the customer alone: shown to them only in a channel (ephemeral), or
    posted to their DM with the app (a ``D`` conversation, or their user id, which Slack
    takes as that DM)."""
    ephemeral = [
        c.params for c in slack.calls_to("chat.postEphemeral") if c.params.get("user") == CUSTOMER
    ]
    direct = [
        c.params
        for c in slack.calls_to("chat.postMessage")
        if c.params["channel"] == CUSTOMER or str(c.params["channel"]).startswith("D")
    ]
    return [section_text(params) + str(params.get("text")) for params in ephemeral + direct]


async def test_a_staff_reply_with_an_iban_never_reaches_the_shared_channel(desk: Desk) -> None:
    slack = desk.slack
    async with delivering(desk):
        dispute = event(
            "EvDispute",
            user=CUSTOMER,
            channel=CUSTOMERS,
            text="My parcel never arrived and I want a refund",
            ts="11.1",
        )
        assert await deliver_to_app(desk, dispute) == 200
        cards = await slack.wait_for(
            lambda s: [p for p in posts_to(s, STAFF_CHANNEL) if buttons_of(p)]
        )
        with desk.app.sessions() as session:
            ticket = session.scalars(select(Ticket)).one()
            assert ticket.reason == "refund_demand"  # a dispute: a person answers
        card_ts = next(ts for (channel, ts) in slack.messages if channel == STAFF_CHANNEL)
        assert cards[0]["channel"] == STAFF_CHANNEL
        said = f"Please send the item back; the refund goes to {IBAN}"
        reply = event("EvIban", user=STAFF, channel=STAFF_CHANNEL, text=said, ts="12.1",
                      thread_ts=card_ts)  # fmt: skip
        assert await deliver_to_app(desk, reply) == 200
        await slack.wait_for(
            lambda s: any(IBAN in shown for shown in told_privately(s))
        )  # times out if the reply reached the customer nowhere privately
        await slack.wait_for(lambda s: s.calls_to("chat.update"))  # the card: claimed
        await desk.channel.settle()
    assert IBAN not in seen_by_the_channel(slack)
    assert "3704" not in seen_by_the_channel(slack)  # nor a piece of it
    # the card, updated when the reply claimed the ticket, stays in the staff channel
    assert all(c.params["channel"] == STAFF_CHANNEL for c in slack.calls_to("chat.update"))
