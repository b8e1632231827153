"""Fixtures shared by the channel tests: the fake platforms and apps running against them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.app import App, Knowledge
from store.clock import ManualClock
from tests.channels.slack_harness import Desk, fake_slack_with_people, running_desk
from tests.channels.telegram_harness import build_test_knowledge, telegram_app
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture(scope="module")
def kb_knowledge(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    """The small test KB (plus a long answer), so Telegram tests don't follow the demo KB."""
    return build_test_knowledge(tmp_path_factory.mktemp("kb"))


@pytest.fixture
def tg_app(db_url: str, kb_knowledge: Knowledge, clock: ManualClock) -> Iterator[App]:
    app = telegram_app(db_url, kb_knowledge, clock)
    yield app
    app.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with fake_slack_with_people() as fake:
        yield fake


@pytest.fixture
async def desk(
    db_url: str, clock: ManualClock, knowledge: Knowledge, slack: FakeSlack
) -> AsyncIterator[Desk]:
    async with running_desk(db_url, clock, knowledge, slack) as running:
        yield running
