"""Fixtures of the replica tests: the fake Bot API in its own process, which every real
``crossdesk run`` process of a test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.telegram_process import FakeServer


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()
