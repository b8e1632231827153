"""Webhook mode: Telegram posts updates to the bot, which accepts only the right secret token."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError
from bot.delivery import Deliverer
from store.models import Contact
from tests.channels.telegram_harness import (
    running_channel,
    telegram_settings,
)
from tests.fakes.telegram_api import FakeTelegram

SECRET = "s3cret-Token_from-env"
QUESTION = "How do I return an item?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webhook(port: int) -> dict[str, object]:
    return {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/telegram/hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_secret": SECRET,
    }


async def test_only_requests_with_the_secret_are_processed(tg_app: App, fake: FakeTelegram) -> None:
    options = webhook(free_port())
    async with running_channel(tg_app, fake, **options):
        assert fake.webhook["url"] == options["webhook_url"]
        assert fake.webhook["secret_token"] == SECRET
        assert await fake.post_to_webhook(fake.build_message(31, QUESTION), None) == 403
        assert await fake.post_to_webhook(fake.build_message(32, QUESTION), "wrong") == 403
        assert await fake.post_to_webhook(b"{not json", SECRET) >= 400  # refused, bot goes on
        assert await fake.post_to_webhook(fake.build_message(33, QUESTION), SECRET) == 200
        answer = (await fake.wait_sent(33))[0]
    assert answer.text == tg_app.knowledge.texts.fill(
        tg_app.knowledge.kb.faq["en"]["returns_policy"].answer
    )
    assert fake.sent_to(31) == fake.sent_to(32) == []
    with tg_app.sessions() as session:
        assert session.scalars(select(Contact.external_id)).all() == ["33"]
    assert not fake.calls_to("getUpdates")  # no polling in webhook mode


@pytest.mark.parametrize(
    ("missing", "key"),
    [("webhook_secret", "telegram.webhook_secret"), ("webhook_url", "telegram.webhook_url")],
)
def test_webhook_mode_needs_a_secret_and_a_url(tg_app: App, missing: str, key: str) -> None:
    fake = FakeTelegram()  # not started: the channel refuses before any request
    options = {**webhook(8443), missing: None}
    with pytest.raises(ConfigError) as refused:
        TelegramChannel(telegram_settings(fake, **options), tg_app, Deliverer(tg_app.sessions, {}))
    assert key in str(refused.value)


async def test_polling_refuses_to_delete_a_webhook_other_replicas_rely_on(
    tg_app: App, fake: FakeTelegram
) -> None:
    fake.webhook = {"url": "https://bot.example.com/telegram", "secret_token": SECRET}
    channel = TelegramChannel(telegram_settings(fake), tg_app, Deliverer(tg_app.sessions, {}))
    with pytest.raises(ConfigError) as refused:
        await channel.start()
    assert "telegram.replace_webhook" in str(refused.value)
    assert "bot.example.com:443" in str(refused.value)
    assert fake.webhook["url"] == "https://bot.example.com/telegram"  # left alone
    assert not fake.calls_to("deleteWebhook") and not fake.calls_to("getUpdates")


async def test_polling_takes_the_updates_over_when_told_to(tg_app: App, fake: FakeTelegram) -> None:
    fake.webhook = {"url": "https://bot.example.com/telegram", "secret_token": SECRET}
    async with running_channel(tg_app, fake, replace_webhook=True):
        fake.message(34, QUESTION)
        await fake.wait_sent(34)
    assert fake.calls_to("deleteWebhook")
