"""Fixtures of the handler tests: the fake LibreTranslate server the real client talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.translator_api import FakeTranslator, start_fake_translator


@pytest.fixture
def translator() -> Iterator[FakeTranslator]:
    """A fake LibreTranslate on 127.0.0.1 (tagging texts it has no translation for)."""
    state, server = start_fake_translator()
    yield state
    server.shutdown()
