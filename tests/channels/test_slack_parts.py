"""The Slack channel's parts against the fake Web API: the outbox sender, who counts as staff,
settings and start-up errors, and Socket Mode over a real WebSocket."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from bot.app import App, build_app
from bot.channels.settings import SlackSettings
from bot.channels.slack import SlackChannel, SlackSetupError
from bot.channels.slack_directory import SeenEvents, SlackDirectory
from bot.channels.slack_sender import SlackSender, SlackSendError, build_client
from bot.config import Settings
from bot.delivery import Deliverer, Outgoing, PlatformRef, RetryLater
from bot.runtime import build_channels
from store.clock import ManualClock
from tests.channels.slack_harness import (
    CUSTOMER,
    CUSTOMERS,
    OUTSIDER,
    STAFF,
    STAFF_CHANNEL,
    fake_slack_with_people,
    section_text,
    slack_settings,
)
from tests.fakes.slack_api import TOKEN, FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with fake_slack_with_people() as fake:
        yield fake


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    settings = SlackSettings(**slack_settings(slack.base_url))
    return SlackSender(build_client(settings), STAFF_CHANNEL)


async def test_sender_posts_threads_mentions_and_updates(
    sender: SlackSender, slack: FakeSlack
) -> None:
    card = await sender.send(
        Outgoing(to="staff", text="Ticket #1", buttons=[[["Claim", "claim:1"]]])
    )
    assert card is not None and card.chat_id == STAFF_CHANNEL
    line = await sender.send(Outgoing(to="staff", text="late!", thread=card, mention=True))
    assert line is not None
    posted = slack.messages[(line.chat_id, line.message_id)]
    assert posted["thread_ts"] == card.message_id and posted["text"].startswith("<!here> ")
    edited = await sender.send(Outgoing(to="staff", text="Ticket #1 · Claimed", edit=card))
    assert edited == card
    assert section_text(slack.messages[(card.chat_id, card.message_id)]) == "Ticket #1 · Claimed"
    to_customer = await sender.send(Outgoing(to=CUSTOMERS, text="Hello"))
    assert to_customer is not None and to_customer.chat_id == CUSTOMERS
    assert await sender.send(Outgoing(to=CUSTOMERS, text=" ")) is None  # nothing to show
    assert len(slack.messages) == 3


async def test_updating_a_deleted_message_posts_it_again(
    sender: SlackSender, slack: FakeSlack
) -> None:
    gone = PlatformRef(STAFF_CHANNEL, "1769999999.000001")
    landed = await sender.send(Outgoing(to="staff", text="Ticket #7", edit=gone))
    assert landed is not None and landed != gone
    assert [c.method for c in slack.calls] == ["chat.update", "chat.postMessage"]


async def test_sender_errors_name_the_cause_and_never_the_text(
    sender: SlackSender, slack: FakeSlack
) -> None:
    slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackSendError) as failed:
        await sender.send(Outgoing(to="CGONE", text="secret order details"))
    assert "channel_not_found" in str(failed.value) and "secret" not in str(failed.value)
    slack.fail("chat.postMessage", status=429, retry_after=120)
    with pytest.raises(RetryLater) as later:
        await sender.send(Outgoing(to=CUSTOMERS, text="hi"))
    assert later.value.retry_after == 120
    nowhere = SlackSender(sender.client, None)
    with pytest.raises(SlackSendError, match=r"slack\.staff_channel"):
        await nowhere.send(Outgoing(to="staff", text="hi"))


@pytest.fixture
def directory(slack: FakeSlack, clock: ManualClock) -> SlackDirectory:
    settings = SlackSettings(**slack_settings(slack.base_url, staff_user_ids=["UBOSS"]))
    return SlackDirectory(build_client(settings), settings, clock)


async def test_staff_are_channel_members_cached_for_a_minute(
    directory: SlackDirectory, slack: FakeSlack, clock: ManualClock
) -> None:
    assert await directory.is_staff(STAFF)
    assert await directory.is_staff("UBOSS")  # configured, not a member
    assert not await directory.is_staff(OUTSIDER)
    slack.members[STAFF_CHANNEL] = [OUTSIDER]  # the team changes
    assert await directory.is_staff(STAFF)  # still the cached list
    assert len(slack.calls_to("conversations.members")) == 1
    clock.advance(seconds=61)
    assert not await directory.is_staff(STAFF) and await directory.is_staff(OUTSIDER)
    slack.fail("conversations.members", error="internal_error")
    clock.advance(seconds=61)
    assert await directory.is_staff(OUTSIDER)  # Slack trouble: the last known list holds


async def test_profiles_give_names_and_locales_and_survive_failures(
    directory: SlackDirectory, slack: FakeSlack, clock: ManualClock
) -> None:
    profile = await directory.profile(STAFF)
    assert (profile.display_name, profile.locale) == ("Li Wei", "zh-CN")
    await directory.profile(STAFF)
    assert len(slack.calls_to("users.info")) == 1
    unknown = await directory.profile("UNOBODY")
    assert unknown.display_name is None and unknown.locale is None
    slack.fail("users.info", error="internal_error")
    clock.advance(hours=7)
    assert (await directory.profile(STAFF)).display_name == "Li Wei"


def test_seen_events_remember_a_bounded_number() -> None:
    seen = SeenEvents(capacity=3)
    assert [seen.first_time(e) for e in ("a", "b", "a", "c", "d")] == [
        True,
        True,
        False,
        True,
        True,
    ]
    assert seen.first_time("b")  # the oldest was forgotten
    assert not seen.first_time("d")


# --- settings and start-up -----------------------------------------------------------------


def test_http_mode_without_signing_secret_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="CROSSDESK_SLACK__SIGNING_SECRET"):
        Settings(slack={"bot_token": TOKEN})
    socket_mode = Settings(slack={"bot_token": TOKEN, "app_token": "xapp-1"})
    assert socket_mode.slack.signing_secret is None


@pytest.fixture
async def plain_app(db_url: str, clock: ManualClock, knowledge: Any) -> AsyncIterator[App]:
    app = build_app(Settings(store={"url": db_url}), clock=clock, knowledge=knowledge)
    yield app
    app.close()


async def test_runtime_picks_http_or_socket_mode(plain_app: App, slack: FakeSlack) -> None:
    deliverer = Deliverer(plain_app.sessions, {})
    settings = plain_app.settings.model_copy(
        update={"slack": SlackSettings(**slack_settings(slack.base_url))}
    )
    plain_app.settings = settings
    [channel] = build_channels(plain_app, deliverer)
    assert isinstance(channel, SlackChannel) and channel.mode == "http"
    socket_mode = SlackSettings(**slack_settings(slack.base_url, app_token="xapp-1"))
    assert SlackChannel(socket_mode, plain_app, deliverer).mode == "socket"
    with pytest.raises(SlackSetupError, match="bot_token"):
        SlackChannel(SlackSettings(), plain_app, deliverer)


async def test_a_taken_port_is_a_clear_start_error(plain_app: App, slack: FakeSlack) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = SlackSettings(**slack_settings(slack.base_url, port=port))
        channel = SlackChannel(settings, plain_app, Deliverer(plain_app.sessions, {}))
        with pytest.raises(SlackSetupError, match=r"slack\.port"):
            await channel.start()


async def test_socket_mode_receives_commands_and_events(plain_app: App, slack: FakeSlack) -> None:
    settings = SlackSettings(**slack_settings(slack.base_url, app_token="xapp-1"))
    channel = SlackChannel(settings, plain_app, Deliverer(plain_app.sessions, {}))
    await channel.start()
    try:
        await slack.envelopes.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/tickets",
                    "text": "",
                    "user_id": STAFF,
                    "channel_id": STAFF_CHANNEL,
                    "team_id": "T0001",
                    "response_url": slack.response_url("socket"),
                },
            }
        )
        acks = await slack.wait_for(lambda s: s.calls_to("socket/ack"))
        assert acks[0].params["envelope_id"] == "env-1"
        answer = await slack.wait_for(lambda s: s.calls_to("respond/socket"))
        texts = plain_app.knowledge.texts
        assert section_text(answer[0].params) == texts.get("staff.tickets.none", "zh")
        await slack.envelopes.put(
            {
                "envelope_id": "env-2",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "payload": {
                    "type": "event_callback",
                    "event_id": "EvSocket",
                    "team_id": "T0001",
                    "event": {
                        "type": "message",
                        "channel_type": "channel",
                        "user": CUSTOMER,
                        "channel": CUSTOMERS,
                        "text": "hello",
                        "ts": "7.1",
                    },
                },
            }
        )
        posted = await slack.wait_for(lambda s: s.calls_to("chat.postMessage"))
        assert posted[0].params["channel"] == CUSTOMERS
    finally:
        await channel.stop()
