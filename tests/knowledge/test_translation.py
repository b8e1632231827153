"""Translation through the real deep-translator LibreTranslator against a fake server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from knowledge.translation import TranslationSettings, TranslationUnavailable, Translator
from tests.fakes.translator_api import FakeTranslator, start_fake_translator


@pytest.fixture
def fake() -> Iterator[FakeTranslator]:
    state, server = start_fake_translator()
    yield state
    server.shutdown()


class Ticking:
    """An injectable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def translator(fake: FakeTranslator, clock: Ticking | None = None, **extra: object) -> Translator:
    settings = TranslationSettings(provider="libre", url=fake.url, **extra)  # type: ignore[arg-type]
    return Translator(settings, monotonic=clock or Ticking())


def test_translates_without_api_key_and_caches(fake: FakeTranslator) -> None:
    fake.dictionary[("de", "zh", "Paket kaputt")] = "包裹坏了"
    t = translator(fake)
    assert t.translate("Paket kaputt", "de", "zh") == "包裹坏了"
    assert t.translate("Paket kaputt", "de", "zh") == "包裹坏了"
    assert len(fake.calls) == 1  # the second came from the cache
    assert fake.calls[0]["api_key"] == "not-needed"  # placeholder for self-hosted servers
    assert t.translate("same", "de", "de") == "same" and len(fake.calls) == 1


def test_failure_raises_and_breaker_opens_then_closes(fake: FakeTranslator) -> None:
    clock = Ticking()
    t = translator(fake, clock, breaker_failures=2, breaker_seconds=30)
    fake.mode = "fail"
    for _ in range(2):
        with pytest.raises(TranslationUnavailable):
            t.translate("hello", "en", "de")
    assert len(fake.calls) == 2
    with pytest.raises(TranslationUnavailable, match="breaker"):
        t.translate("hello again", "en", "de")
    assert len(fake.calls) == 2  # the open breaker did not call the provider
    fake.mode = "ok"
    clock.now += 31
    assert t.translate("hello", "en", "de") == "[de] hello"


def test_timeout_holds_for_a_hanging_provider(fake: FakeTranslator) -> None:
    fake.mode = "hang"
    t = translator(fake, timeout=0.3)
    started = time.perf_counter()
    with pytest.raises(TranslationUnavailable):
        t.translate("hello", "en", "ja")
    assert time.perf_counter() - started < 1.5  # the fake hangs for 2 s


def test_no_provider_configured() -> None:
    t = Translator(TranslationSettings())
    assert not t.enabled
    with pytest.raises(TranslationUnavailable):
        t.translate("hello", "en", "de")
