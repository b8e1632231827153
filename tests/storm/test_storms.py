"""Storms of fuzzed Telegram updates and malformed Slack requests against a real ``crossdesk
run`` process (Telegram long polling and Slack HTTP on the embedded SQLite store), with the
fake Bot API in its own process and the fake Slack Web API in this one.

Six storms from a fixed seed: the first warms up, the five after it must leave the bot's
resident memory flat. After every storm the bot owes exactly what :mod:`.telegram_fuzz` and
:mod:`.slack_fuzz` say (a reply in each private chat that wrote, an answer to each button
press, a post in each Slack DM, an answer at each command's ``response_url``), and the run must
show no traceback, no ERROR line, no send the fakes refuse (as Telegram and Slack refuse them),
no forged request let through, and none of the personal data planted in the messages in its
log. Counts are the issue's bars: 10,200 updates and 3,000 requests in all.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from multidict import CIMultiDict
from sqlalchemy import func, select

from store import inbox
from store.db import create_store_engine, session_factory
from store.models import OutboxMessage
from tests.fakes.slack_api import BOT_USER, FakeSlack, running_fake_slack
from tests.fakes.slack_api import TOKEN as SLACK_TOKEN
from tests.fakes.telegram_process import FakeServer
from tests.replicas.harness import Replica, free_port
from tests.storm.slack_fuzz import SlackFuzzer, SlackRequest
from tests.storm.telegram_fuzz import Storm, TelegramFuzzer

SEED = 20261202
STORMS = 6  # the first warms up; memory is compared across the five after it
SCALE = float(os.environ.get("CROSSDESK_STORM_SCALE", "1"))  # < 1 for a quick look while coding
TELEGRAM_PER_STORM = max(20, int(1700 * SCALE))
SLACK_PER_STORM = max(20, int(500 * SCALE))
RSS_GROWTH = 0.05
SETTLE_TIMEOUT = 240.0
SLACK_SECRET = "storm-signing-secret-0123456789"
STAFF_CHANNEL, CUSTOMERS, STAFF = "CSTAFF", "CCUSTOMERS", "USTAFF"
SLACK_CONCURRENCY = 8
LOCALES = Path(__file__).resolve().parents[2] / "knowledge" / "locales"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def _bot(folder: Path, fake: FakeServer, slack: FakeSlack) -> tuple[Replica, str]:
    port = free_port()
    settings = {
        "slack": {
            "base_url": slack.base_url,
            "staff_channel": STAFF_CHANNEL,
            "customer_channels": [CUSTOMERS],
            "direct_messages": True,
            "host": "127.0.0.1",
            "port": port,
        },
        "logging": {"level": "INFO"},
    }
    environment = {
        "CROSSDESK_SLACK__BOT_TOKEN": SLACK_TOKEN,
        "CROSSDESK_SLACK__SIGNING_SECRET": SLACK_SECRET,
    }
    store = f"sqlite:///{folder / 'crossdesk.db'}"
    bot = Replica(folder, "storm", store, fake, webhook=False, settings=settings,
                  environment=environment)  # fmt: skip
    return bot, f"http://127.0.0.1:{port}/slack/events"


async def _listening(url: str, bot: Replica) -> None:
    host, port = url.split("//")[1].split("/")[0].split(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert bot.process is not None and bot.process.poll() is None, bot.log.read_text()[-2000:]
        try:
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError("Slack's HTTP endpoint never listened")


async def _send_slack(url: str, requests: list[SlackRequest]) -> list[tuple[int, int]]:
    """Post every request (a few at a time, in order); the wrong statuses, as (index, status)."""
    for request in requests:
        request.signed_headers(SLACK_SECRET)  # a replay repeats its original's headers
    wrong: list[tuple[int, int]] = []
    gate = asyncio.Semaphore(SLACK_CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(index: int, request: SlackRequest) -> None:
            async with gate:
                headers = CIMultiDict(request.signed_headers(SLACK_SECRET))
                async with session.post(url, data=request.body, headers=headers) as response:
                    await response.read()
                    if response.status not in request.statuses:
                        wrong.append((index, response.status))

        await asyncio.gather(*(one(n, r) for n, r in enumerate(requests)))
    return wrong


def _store_state(url: str) -> tuple[dict[str, int], int]:
    """The inbox's rows by state, and the outbox rows not yet sent."""
    engine = create_store_engine(url)
    try:
        with session_factory(engine)() as session:
            unsent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            return inbox.counts(session), int(unsent or 0)
    finally:
        engine.dispose()


def _telegram_owed(fake: FakeServer, storm: Storm) -> list[str]:
    sent = fake.sent()
    answered = {
        str(call["params"].get("callback_query_id"))
        for call in fake.control("calls?method=answerCallbackQuery")
        if call["status"] == 200
    }
    return [f"chat {c}" for c in sorted(storm.replies_due) if not sent.get(str(c))] + [
        f"button {q}" for q in sorted(storm.answers_due - answered)
    ]


def _slack_owed(slack: FakeSlack, requests: list[SlackRequest]) -> list[str]:
    posted = {
        str(c.params.get("channel"))
        for c in slack.calls
        if c.method in ("chat.postMessage", "chat.postEphemeral") and c.error is None
    }
    responded = {c.method.removeprefix("respond/") for c in slack.calls if c.error is None}
    owed = [f"DM {r.dm_due}" for r in requests if r.dm_due and r.dm_due not in posted]
    return owed + [
        f"command {r.respond_due}"
        for r in requests
        if r.respond_due and r.respond_due not in responded
    ]


async def _settled(
    bot: Replica, store: str, fake: FakeServer, slack: FakeSlack, storm: Storm,
    requests: list[SlackRequest],
) -> None:  # fmt: skip
    """Wait until nothing is pending anywhere and everything owed has arrived."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        assert bot.process is not None and bot.process.poll() is None, bot.log.read_text()[-3000:]
        pending = (await asyncio.to_thread(fake.control, "stats"))["pending"]
        rows, unsent = await asyncio.to_thread(_store_state, store)
        owed = await asyncio.to_thread(_telegram_owed, fake, storm) + _slack_owed(slack, requests)
        if not pending and not rows.get(inbox.PENDING) and not unsent and not owed:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not settled: {pending} updates unfetched, inbox {rows}, {unsent} unsent, "
                f"owed {len(owed)}: {owed[:10]}"
            )
        await asyncio.sleep(0.5)


def _refused_by_telegram(fake: FakeServer) -> list[dict[str, Any]]:
    return [c for c in fake.control("calls") if c["status"] != 200]


async def test_storms_of_hostile_updates_and_requests(tmp_path: Path, fake: FakeServer) -> None:
    telegram_fuzz = TelegramFuzzer(SEED)
    slack_fuzz = SlackFuzzer(SEED, CUSTOMERS, STAFF_CHANNEL, STAFF)
    personal: list[str] = []
    wrong_statuses: list[tuple[int, int, int]] = []
    rss: list[int] = []
    kinds: dict[str, int] = {}
    async with running_fake_slack() as slack:
        slack.add_user(STAFF, "Li Wei", "zh-CN")
        slack.members[STAFF_CHANNEL] = [STAFF, BOT_USER]
        bot, url = _bot(tmp_path, fake, slack)
        store = f"sqlite:///{tmp_path / 'crossdesk.db'}"
        bot.start()
        try:
            await bot.ready(fake)
            await _listening(url, bot)
            for number in range(STORMS):
                storm = telegram_fuzz.storm(TELEGRAM_PER_STORM, first_user=(number + 1) * 10**6)
                requests = slack_fuzz.storm(SLACK_PER_STORM, slack.url)
                for user, (name, locale) in slack_fuzz.users.items():
                    slack.add_user(user, name, locale)
                personal += storm.personal
                for kind, count in storm.kinds.items():
                    kinds[kind] = kinds.get(kind, 0) + count
                for start in range(0, len(storm.updates), 250):
                    await asyncio.to_thread(
                        fake.control, "updates", storm.updates[start : start + 250]
                    )
                wrong = await _send_slack(url, requests)
                wrong_statuses += [(number, index, status) for index, status in wrong]
                await _settled(bot, store, fake, slack, storm, requests)
                rss.append(bot.rss_kib())
        finally:
            exit_code = bot.stop()
        slack_refused = [(c.method, c.error) for c in slack.calls if c.error is not None]
    log = bot.log.read_text(encoding="utf-8", errors="replace")
    lines = log.splitlines()
    print(f"storm kinds {kinds}; RSS after each storm (KiB): {rss}")
    assert exit_code == 0
    assert log.count("Traceback") == 0, log[log.find("Traceback") - 500 :][:3000]
    assert not [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    assert not wrong_statuses, wrong_statuses[:10]
    assert not _refused_by_telegram(fake), json.dumps(_refused_by_telegram(fake)[:5])[:2000]
    assert not slack_refused, slack_refused[:10]
    leaked = [value for value in personal if value in log]
    assert not leaked, leaked[:5]
    for secret in (SLACK_SECRET, SLACK_TOKEN, "TEST-fake-token"):
        assert secret not in log
    rows, _ = _store_state(f"sqlite:///{tmp_path / 'crossdesk.db'}")
    assert not rows.get(inbox.FAILED), rows  # none answered with the fallback after errors
    busy = {yaml.safe_load(f.read_text("utf-8"))["fallback.busy"] for f in LOCALES.glob("*.yaml")}
    telegram_texts = {text for texts in fake.sent().values() for text in texts}
    assert not busy & telegram_texts
    baseline = rss[0]
    assert max(rss[1:]) <= baseline * (1 + RSS_GROWTH), f"RSS {rss} KiB grew past 5%"
    assert all(storm_kind > 0 for storm_kind in kinds.values())
    assert sum(kinds.values()) == STORMS * TELEGRAM_PER_STORM
