"""Running the real Slack channel against the fake Slack Web API, for the Slack tests.

Requests to the app are built as Slack builds them (slash command forms, Events API JSON,
``block_actions`` payloads) and signed with the test's signing secret by
:func:`tests.fakes.slack_api.deliver`.
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.app import App, Knowledge, build_app
from bot.channels.slack import SlackChannel
from bot.config import Settings
from bot.delivery import Deliverer
from store.clock import ManualClock
from tests.fakes.slack_api import BOT_USER, TOKEN, FakeSlack, deliver, running_fake_slack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STAFF_CHANNEL, CUSTOMERS = "CSTAFF", "CCUSTOMERS"
STAFF, CUSTOMER, OUTSIDER = "USTAFF", "UCUSTOMER", "UOUTSIDER"


@dataclass
class Desk:
    """A running Slack channel, its app, its deliverer and the fake Slack it talks to."""

    app: App
    channel: SlackChannel
    deliverer: Deliverer
    slack: FakeSlack
    url: str

    def text(self, key: str, language: str | None = None, **values: object) -> str:
        language = language or self.app.settings.support.staff_language
        return self.app.knowledge.texts.get(key, language, **values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slack_settings(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "bot_token": TOKEN,
        "signing_secret": SECRET,
        "base_url": base_url,
        "staff_channel": STAFF_CHANNEL,
        "customer_channels": [CUSTOMERS],
        "direct_messages": True,
        "host": "127.0.0.1",
        "port": free_port(),
        **extra,
    }


@asynccontextmanager
async def fake_slack_with_people() -> AsyncIterator[FakeSlack]:
    """The fake Slack with a staff member (in the staff channel), a customer and an outsider."""
    async with running_fake_slack() as fake:
        fake.add_user(STAFF, "Li Wei", "zh-CN")
        fake.add_user(CUSTOMER, "Dana", "en-US")
        fake.add_user(OUTSIDER, "Mallory", "en-GB")
        fake.members[STAFF_CHANNEL] = [STAFF, BOT_USER]
        yield fake


@asynccontextmanager
async def running_desk(
    db_url: str, clock: ManualClock, knowledge: Knowledge, slack: FakeSlack
) -> AsyncIterator[Desk]:
    """A SlackChannel listening on a free port, wired to a fresh app and its deliverer."""
    settings = Settings(store={"url": db_url}, slack=slack_settings(slack.base_url))
    app = build_app(settings, clock=clock, staff_channels=["slack"], knowledge=knowledge)
    deliverer = Deliverer(app.sessions, {}, clock=clock)
    channel = SlackChannel(settings.slack, app, deliverer)
    deliverer.senders["slack"] = channel.sender
    await channel.start()
    try:
        yield Desk(app, channel, deliverer, slack, f"http://127.0.0.1:{channel.port}/slack/events")
    finally:
        await channel.stop()
        app.close()


# --- what Slack sends ----------------------------------------------------------------------


_TRIGGERS = itertools.count(1)


def _trigger_id() -> str:
    """A new trigger id, as Slack gives every slash command and button press its own."""
    return f"{next(_TRIGGERS)}.2.3"


def command(name: str, text: str, user: str, channel: str, response_url: str) -> bytes:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0001",
            "channel_id": channel,
            "channel_name": "somewhere",
            "user_id": user,
            "user_name": user.lower(),
            "command": name,
            "text": text,
            "response_url": response_url,
            "trigger_id": _trigger_id(),
            "api_app_id": "A1",
        }
    ).encode()


def event(event_id: str, **fields: Any) -> bytes:
    body = {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1770000000,
        "event": {"type": "message", "channel_type": "channel", **fields},
    }
    return json.dumps(body).encode()


def button(user: str, channel: str, message: dict[str, Any], element: dict[str, Any]) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user, "username": user.lower(), "name": user.lower()},
        "api_app_id": "A1",
        "token": "legacy",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel},
        "trigger_id": _trigger_id(),
        "channel": {"id": channel, "name": "staff"},
        "message": {"type": "message", "ts": message["ts"], "text": message.get("text", "")},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "type": "button",
                "action_id": element["action_id"],
                "block_id": "b1",
                "value": element["value"],
                "action_ts": "1770000001.000001",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def send(desk: Desk, body: bytes, **how: Any) -> int:
    """Deliver a request as Slack would, signed with the app's secret unless told otherwise."""
    how.setdefault("secret", SECRET)
    if body.startswith(b"{"):
        how.setdefault("content_type", "application/json")
    status, _ = await deliver(desk.url, body, **how)
    return status


def section_text(params: dict[str, Any]) -> str:
    return "".join(
        b["text"]["text"] for b in params.get("blocks") or [] if b.get("type") == "section"
    )


def buttons_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in params.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def posts_to(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel]
