"""A 40,000-character word does not hold up the router: every regex that reads customer text
runs on the capped text, and the readers that understand it see a long run cut.

What the work costs is measured in benchmarks/long_word_wait.py (another customer's extra
wait, and each regex on the capped text); here, what the readers are given and what they find.
"""

from __future__ import annotations

from bot.app import App
from handlers.input_bounds import MAX_TEXT_CHARS
from handlers.messages import IncomingMessage
from handlers.orders import looks_like_proof
from tests.handlers.test_input_bounds import _stored_in


def test_a_forty_thousand_character_word_reaches_the_regexes_capped() -> None:
    """Before the bounds the e-mail regex ran on the whole word (quadratic: 2.6 s per message on
    the router's thread, which every other customer waits for)."""
    message = IncomingMessage.from_text("slack", "U1", "C1", "a" * 40_000)
    assert len(message.text) == MAX_TEXT_CHARS and message.truncated
    at_signs = IncomingMessage.from_text("slack", "U1", "C1", "a@" * 20_000)
    assert len(at_signs.text) == MAX_TEXT_CHARS
    assert looks_like_proof(message.text) is None
    assert looks_like_proof(at_signs.text) is None  # no domain with a dot: no address
    hidden = IncomingMessage.from_text("slack", "U1", "C1", "a" * 40_000 + " mia@example.com")
    assert looks_like_proof(hidden.text) is None  # what lies past the cap is never read


def test_a_forty_thousand_character_word_and_another_customer_in_one_batch(app: App) -> None:
    long_word = IncomingMessage.from_text("slack", "U1", "C1", "a" * 40_000)
    other = IncomingMessage.from_text(
        "slack", "U2", "C2", "How long does delivery take to Canada?", language_hint="en"
    )
    replies = app.router.handle_batch([long_word, other])
    shipping = app.knowledge.texts.fill(app.knowledge.kb.faq["en"]["shipping_time"].answer)
    assert replies[1][0].text == shipping
    assert len(_stored_in(app, "U1")[0]) <= MAX_TEXT_CHARS
