"""A 40,000-character word does not hold up the router: every regex that reads customer text
runs on the capped text, and in time linear in it.

Times are bounds on the work itself (the fastest of a few runs), not waits on a wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.app import App
from handlers.input_bounds import MAX_TEXT_CHARS
from handlers.messages import IncomingMessage
from handlers.orders import looks_like_proof
from knowledge.language import _strip_noise
from tests.handlers.test_input_bounds import _stored_in


def _best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of ``runs`` runs, in seconds: the work's own cost, without scheduling noise."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def test_a_forty_thousand_character_word_costs_the_regexes_next_to_nothing() -> None:
    """Before the bounds the e-mail regex ran on the whole word (quadratic: 2.6 s per message on
    the router's thread, which every other customer waits for); on a 4,096-character word it
    still took over 100 ms. Now it runs on the capped text, and linearly."""
    message = IncomingMessage.from_text("slack", "U1", "C1", "a" * 40_000)
    assert len(message.text) == MAX_TEXT_CHARS and message.truncated
    at_signs = IncomingMessage.from_text("slack", "U1", "C1", "a@" * 20_000)
    for text in (message.text, at_signs.text):
        assert _best_of(5, lambda text=text: looks_like_proof(text)) < 0.01
        assert _best_of(5, lambda text=text: _strip_noise(text)) < 0.025


def test_a_forty_thousand_character_word_and_another_customer_in_one_batch(app: App) -> None:
    long_word = IncomingMessage.from_text("slack", "U1", "C1", "a" * 40_000)
    other = IncomingMessage.from_text(
        "slack", "U2", "C2", "How long does delivery take to Canada?", language_hint="en"
    )
    replies = app.router.handle_batch([long_word, other])
    shipping = app.knowledge.texts.fill(app.knowledge.kb.faq["en"]["shipping_time"].answer)
    assert replies[1][0].text == shipping
    assert len(_stored_in(app, "U1")[0]) <= MAX_TEXT_CHARS
