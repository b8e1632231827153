"""A customer writing a language the shop did not configure is answered in it when a
translator is configured, else in the default language with one line that says so: never
silently in a third language (issue 11 point 4).

Polish is no language of the demo shop but one the sentence encoder reads: the question is
understood as written. Vietnamese the encoder was not trained on: with a translator the
question is translated to the default language first, then understood.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app import App, Knowledge, build_app
from bot.config import Settings
from store.clock import ManualClock
from tests.fakes.translator_api import FakeTranslator
from tests.handlers.conversation import say

POLISH = "Jak mogę zwrócić towar, który mi nie pasuje?"
VIETNAMESE = "Phí vận chuyển đơn hàng đến Đức là bao nhiêu?"


def _answer(app: App, entry: str) -> str:
    return app.knowledge.texts.fill(app.knowledge.kb.faq["en"][entry].answer)


def _note(app: App, key: str, **values: str) -> str:
    return app.services.texts.get(key, "en", **values)


@pytest.fixture
def translated(
    db_url: str, clock: ManualClock, knowledge: Knowledge, translator: FakeTranslator
) -> Iterator[App]:
    settings = Settings(
        store={"url": db_url}, translation={"provider": "libre", "url": translator.url}
    )
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


def test_without_a_translator_the_answer_is_in_the_default_language_and_says_so(
    app: App,
) -> None:
    (reply,) = say(app, POLISH, user="pl1")
    note = _note(app, "answer.language_unavailable", language="Polish", answer_language="English")
    assert reply.language == "en"
    assert reply.text == f"{note}\n\n{_answer(app, 'returns_policy')}"


def test_with_a_translator_the_answer_is_in_the_customers_language(
    translated: App, translator: FakeTranslator
) -> None:
    (reply,) = say(translated, POLISH, user="pl2")
    answer = _answer(translated, "returns_policy")
    assert reply.language == "pl"
    assert reply.text == f"[pl] {answer}\n\n{_note(translated, 'answer.machine_translated')}"
    assert ("en", "pl") in {(call["source"], call["target"]) for call in translator.calls}


def test_a_language_the_encoder_does_not_know_is_translated_to_be_understood(
    translated: App, translator: FakeTranslator
) -> None:
    translator.dictionary[("vi", "en", VIETNAMESE)] = "How much does shipping to Germany cost?"
    (reply,) = say(translated, VIETNAMESE, user="vi1")
    answer = _answer(translated, "shipping_cost")
    assert reply.language == "vi"
    assert reply.text == f"[vi] {answer}\n\n{_note(translated, 'answer.machine_translated')}"
    assert ("vi", "en") in {(call["source"], call["target"]) for call in translator.calls}
