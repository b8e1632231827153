"""``crossdesk alerts run-once`` as cron runs it, delivering to Telegram and Slack: real
subprocesses against the fake Bot API and the fake Slack Web API in this test's event loop.

The subprocesses run asynchronously (``asyncio.create_subprocess_exec``) so the fakes keep
answering while they work.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import create_store_engine, session_factory
from store.models import OutboxMessage
from tests.bot.test_cli import crossdesk
from tests.channels.slack_harness import SECRET, STAFF_CHANNEL
from tests.channels.telegram_harness import STAFF_CHAT
from tests.fakes.slack_api import TOKEN as SLACK_TOKEN
from tests.fakes.slack_api import FakeSlack, running_fake_slack
from tests.fakes.telegram_api import FakeTelegram


def environment(db_url: str, **extra: str) -> dict[str, str]:
    """The process environment of a cron job: no CROSSDESK_ variables but these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
    env.update({"CROSSDESK_STORE__URL": db_url, "CROSSDESK_SUPPORT__STAFF_LANGUAGE": "en", **extra})
    return env


def telegram_env(db_url: str, fake: FakeTelegram) -> dict[str, str]:
    return environment(
        db_url,
        CROSSDESK_TELEGRAM__TOKEN=fake.token,
        CROSSDESK_TELEGRAM__BASE_URL=fake.base_url,
        CROSSDESK_TELEGRAM__BASE_FILE_URL=fake.base_file_url,
        CROSSDESK_TELEGRAM__STAFF_CHAT_ID=str(STAFF_CHAT),
        CROSSDESK_TELEGRAM__RATE_LIMIT="false",
    )


async def run_once(cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """``python -m bot alerts run-once``; its exit code and standard error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "alerts", "run-once",
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode is not None
    return process.returncode, err.decode()


def demo_shop(tmp_path: Path, db_url: str) -> None:
    made = crossdesk(tmp_path, "demo-data", "--orders", "400", "--products", "40",
                     "--today", date.today().isoformat(),
                     env={"CROSSDESK_STORE__URL": db_url})  # fmt: skip
    assert made.returncode == 0, made.stderr


def queued(db_url: str) -> list[OutboxMessage]:
    engine = create_store_engine(db_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        engine.dispose()


def headline(row: OutboxMessage) -> str:
    return str(row.payload["text"]).splitlines()[0]


@pytest.fixture
async def fake() -> FakeTelegram:  # type: ignore[misc]
    async with FakeTelegram() as server:
        yield server


async def test_run_once_delivers_every_notification_to_telegram(
    tmp_path: Path, db_url: str, fake: FakeTelegram
) -> None:
    demo_shop(tmp_path, db_url)
    code, err = await run_once(tmp_path, telegram_env(db_url, fake))
    assert code == 0, err
    assert "Traceback" not in err and "wait in the outbox" not in err
    rows = queued(db_url)
    assert rows and {row.channel for row in rows} == {"telegram"}
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    starts = Counter(m.text.splitlines()[0] for m in fake.sent_to(STAFF_CHAT))
    assert all(starts[headline(row)] == 1 for row in rows), starts
    assert fake.calls_to("getMe")  # the sender was initialised...

    again, err = await run_once(tmp_path, telegram_env(db_url, fake))
    assert again == 0, err
    assert len(queued(db_url)) == len(rows)  # ...and nothing new to say the second time


async def test_run_once_delivers_every_notification_to_slack(tmp_path: Path, db_url: str) -> None:
    demo_shop(tmp_path, db_url)
    async with running_fake_slack() as slack:
        env = environment(
            db_url,
            CROSSDESK_SLACK__BOT_TOKEN=SLACK_TOKEN,
            CROSSDESK_SLACK__SIGNING_SECRET=SECRET,
            CROSSDESK_SLACK__BASE_URL=slack.base_url,
            CROSSDESK_SLACK__STAFF_CHANNEL=STAFF_CHANNEL,
        )
        code, err = await run_once(tmp_path, env)
        posted = slack_headlines(slack)
    assert code == 0, err
    rows = queued(db_url)
    assert rows and all(row.channel == "slack" and row.sent_at for row in rows)
    assert all(posted[headline(row)] == 1 for row in rows), posted


def slack_headlines(slack: FakeSlack) -> Counter[str]:
    return Counter(
        str(call.params.get("text", "")).removeprefix("<!here> ").splitlines()[0]
        for call in slack.calls_to("chat.postMessage")
        if call.params.get("channel") == STAFF_CHANNEL
    )


async def test_two_run_once_processes_at_once_deliver_each_notification_once(
    tmp_path: Path, db_url: str, fake: FakeTelegram
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("two cron jobs at once share a PostgreSQL database; SQLite takes turns")
    demo_shop(tmp_path, db_url)
    env = telegram_env(db_url, fake)
    results = await asyncio.gather(run_once(tmp_path, env), run_once(tmp_path, env))
    assert [code for code, _ in results] == [0, 0], results
    rows = queued(db_url)
    assert rows and all(row.sent_at is not None for row in rows)
    starts = Counter(m.text.splitlines()[0] for m in fake.sent_to(STAFF_CHAT))
    assert all(starts[headline(row)] == 1 for row in rows), starts
    assert len({headline(row) for row in rows}) == len(rows)  # one message per rule and kind
