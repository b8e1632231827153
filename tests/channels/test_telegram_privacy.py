"""Where a customer is reached is decided by the conversation, not by their last message: a
customer who once wrote in a public group gets a ticket's replies in their private chat, and
the group sees nothing of them (the IBAN case)."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from store.models import Contact
from tests.channels.telegram_harness import STAFF_CHAT, STAFF_USER, running_channel
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram

CUSTOMER, GROUP = 761, -1007770001
IBAN = "DE89 3704 0044 0532 0130 00"


async def test_a_staff_reply_with_an_iban_never_reaches_the_group_the_customer_wrote_in(
    tg_app: App, fake: FakeTelegram
) -> None:
    handle = f"@{BOT_USERNAME}"
    async with running_channel(tg_app, fake):
        fake.message(CUSTOMER, "My parcel never arrived and I want a refund")
        await fake.wait_sent(CUSTOMER)
        card = (await fake.wait_sent(STAFF_CHAT))[0]
        # later the customer mentions the bot in a public group
        fake.message(
            CUSTOMER,
            f"{handle} How do I return an item?",
            chat_id=GROUP,
            entities=[{"type": "mention", "offset": 0, "length": len(handle)}],
        )
        await fake.wait_sent(GROUP)
        with tg_app.sessions() as session:
            contact = session.scalars(select(Contact)).one()
            assert contact.chat_id == str(CUSTOMER)  # still reached privately
        fake.message(
            STAFF_USER, f"Please send the item back; refund goes to {IBAN}", chat_id=STAFF_CHAT,
            reply_to=card,
        )  # fmt: skip
        await fake.wait_for(
            lambda: any(IBAN in m.text for m in fake.sent_to(CUSTOMER)),
            what="the staff reply in the private chat",
        )
    assert not [m for m in fake.sent_to(GROUP) if IBAN in m.text]
    assert len(fake.sent_to(GROUP)) == 1  # only the FAQ answer the group asked for
