"""Proving an order cannot be guessed: wrong proofs are limited per contact and per order,
successes with one's own orders reset nothing, a distributed attack pauses every look-up and
alerts staff, and an order that does not exist is answered exactly like one that does."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.app import App
from store.demo import generate_demo_shop
from store.models import Order
from store.orders import MAX_FAILURES
from tests.handlers.conversation import outbox_rows, say


@pytest.fixture
def orders(app: App) -> list[Order]:
    with app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=40, products=10, seed=7, today=date(2026, 3, 10))
        found = list(session.scalars(select(Order).order_by(Order.id)))
        for order in found:
            session.expunge(order)
        return found


def _guess(app: App, user: str, order_id: str, proof: str) -> str:
    """``/order order_id``, then ``proof``: everything the bot answered to both."""
    replies = say(app, f"/order {order_id}", user) + say(app, proof, user)
    return " ".join(reply.text for reply in replies)


def _wrong_postcodes(order: Order, count: int) -> list[str]:
    real = order.postcode.replace(" ", "").upper()
    guesses = [f"{n:05d}" for n in range(70000, 70000 + count + 1)]  # no order has such ids
    return [g for g in guesses if g != real][:count]


def test_thirty_accounts_guessing_one_victims_order_see_nothing_and_staff_are_told(
    app: App, orders: list[Order]
) -> None:
    victim = orders[0]
    guesses = _wrong_postcodes(victim, 150)
    # the real postcode is the 100th guess: without a limit per order it would be found
    guesses.insert(99, victim.postcode)
    texts = app.services.texts
    status = texts.get(f"order.status.{victim.status}", "en")
    summary = texts.get("order.summary", "en", order=victim.id, status=status)
    assert summary in _guess(app, "owner", victim.id, victim.email)  # what "shown" looks like
    shown = 0
    for account in range(30):
        for n in range(5):
            answer = _guess(app, f"attacker{account}", victim.id, guesses[account * 5 + n])
            shown += summary in answer  # what a verified customer reads first
            app.services.clock.advance(seconds=1)  # type: ignore[attr-defined]
    assert shown == 0
    storms = outbox_rows(app, "verification.storm")
    assert len(storms) == 1 * len(app.services.staff_channels)
    assert "⚠️" in storms[0].payload["text"]


def test_successes_with_ones_own_orders_reset_no_limit(app: App, orders: list[Order]) -> None:
    own, victim = orders[1], orders[2]
    texts = app.services.texts
    checked = texts.get("order.not_verified", "en", order=victim.id)
    own_summary = texts.get(
        "order.summary", "en", order=own.id, status=texts.get(f"order.status.{own.status}", "en")
    )
    say(app, "/language en", "mallory")  # an e-mail address alone may read as any language
    wrong_proofs_checked = 0
    for round_ in range(6):
        if round_ == 0:  # proving an own order works, before and between the guesses
            assert own_summary in _guess(app, "mallory", own.id, own.email)
        for guess in _wrong_postcodes(victim, 40)[round_ * 3 : round_ * 3 + 3]:
            wrong_proofs_checked += checked in _guess(app, "mallory", victim.id, guess)
        _guess(app, "mallory", own.id, own.email)  # used to wipe the count
    assert wrong_proofs_checked == MAX_FAILURES  # then locked, however many own orders


def test_an_unknown_order_is_answered_like_a_real_one(app: App, orders: list[Order]) -> None:
    real = orders[3]
    unknown = "99999999"
    assert _guess(app, "u1", real.id, "wrong@example.com").replace(real.id, "#") == _guess(
        app, "u2", unknown, "wrong@example.com"
    ).replace(unknown, "#")
    for n in range(MAX_FAILURES):
        _guess(app, f"r{n}", real.id, f"x{n}@example.com")
        _guess(app, f"n{n}", unknown, f"x{n}@example.com")
    locked_real = _guess(app, "fresh1", real.id, real.email)
    locked_unknown = _guess(app, "fresh2", unknown, "someone@example.com")
    assert locked_real.replace(real.id, "#") == locked_unknown.replace(unknown, "#")
    assert locked_real.startswith(
        app.services.texts.get("order.too_many_attempts", "en", minutes=0).split("0")[0]
    )
    assert real.email not in locked_real
