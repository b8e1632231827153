"""Running the real Telegram channel against the fake Bot API, for the Telegram tests.

The knowledge base is the small test KB (English and German FAQ) plus one entry with a long
answer, so that what the tests expect does not depend on the demo KB's current content.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.app import App, Knowledge, build_app, build_knowledge
from bot.channels.settings import TelegramSettings
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.delivery import Deliverer
from store.clock import ManualClock
from store.models import OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.knowledge.small_kb import write_small_kb

STAFF_CHAT = -1001234567890
STAFF_USER = 4242
LONG_PARAGRAPH = "Our size guide, measured with care, in centimetres and inches. " * 30


def write_test_kb(root: Path) -> Path:
    """The small KB plus an entry whose answer is longer than one Telegram message."""
    write_small_kb(root)
    faq_file = root / "faq" / "en.yaml"
    faq = yaml.safe_load(faq_file.read_text(encoding="utf-8"))
    faq["entries"].append(
        {
            "id": "size_guide",
            "title": "Size guide",
            "keywords": ["size guide"],
            "questions": ["Where is the size guide?", "size guide please", "size chart"],
            "answer": "\n\n".join(f"{n}. {LONG_PARAGRAPH.strip()}" for n in range(1, 6)),
        }
    )
    faq_file.write_text(yaml.safe_dump(faq, allow_unicode=True, sort_keys=False), "utf-8")
    return root


def build_test_knowledge(root: Path) -> Knowledge:
    return build_knowledge(Settings(support={"knowledge_base": str(write_test_kb(root))}))


def telegram_settings(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "token": fake.token,
        "base_url": fake.base_url,
        "base_file_url": fake.base_file_url,
        "rate_limit": False,
        "staff_chat_id": STAFF_CHAT,
        "staff_user_ids": [STAFF_USER],
    }
    return TelegramSettings(**{**values, **overrides})


def telegram_app(db_url: str, knowledge: Knowledge, clock: ManualClock) -> App:
    settings = Settings(store={"url": db_url}, support={"knowledge_base": str(knowledge.kb.path)})
    return build_app(settings, clock=clock, staff_channels=["telegram"], knowledge=knowledge)


@contextlib.asynccontextmanager
async def running_channel(
    app: App, fake: FakeTelegram, *, deliver: bool = True, **overrides: Any
) -> AsyncIterator[TelegramChannel]:
    """A started TelegramChannel (and, with ``deliver``, its delivery worker)."""
    deliverer = Deliverer(app.sessions, {}, clock=app.services.clock)
    channel = TelegramChannel(telegram_settings(fake, **overrides), app, deliverer)
    deliverer.senders[channel.name] = channel.sender

    await channel.start()
    worker = asyncio.create_task(deliverer.run_forever(poll_seconds=0.05)) if deliver else None
    try:
        yield channel
    finally:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await channel.stop()


def outbox(app: App) -> list[OutboxMessage]:
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
