"""Whether an order exists must not show in the work its look-up takes (issue 13).

The replies already read the same for a real order and an unknown one; these tests make sure
the database work does too: asking about an order and giving a wrong proof run the same SQL
statements (the same number, the same text, only the bound values differ) whether the order
exists or not, on SQLite and PostgreSQL. Counting statements is what a test can assert
without timing anything; ``benchmarks/verification_timing.py`` measures the wall time.

Also here: ``is_verified`` answers for the very order ``get_order`` would show, when two ids
differ only in case, and a proof with letters outside ASCII is checked, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from bot.app import App
from store.demo import generate_demo_shop
from store.models import Contact, Order, VerificationFailure, VerifiedOrder
from store.orders import get_order, is_verified, verify_order
from tests.handlers.conversation import say

UNKNOWN = "99999999"  # no demo order has such an id
NOW = datetime(2026, 3, 10, 10, 0)


@pytest.fixture
def real(app: App) -> Order:
    """One order of a small demo shop, detached from its session."""
    with app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=20, products=5, seed=7, today=date(2026, 3, 10))
        order = session.scalars(select(Order).order_by(Order.id)).first()
        assert order is not None and order.shipment is not None and order.items
        session.expunge(order)
        return order


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement ``engine`` sends while the block runs, as sent (without values)."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _fresh_contact(app: App, user: str) -> None:
    """``user`` writes once first, so creating their contact is not part of what is counted."""
    say(app, "/language en", user)


def test_asking_about_a_real_or_an_unknown_order_runs_the_same_statements(
    app: App, real: Order
) -> None:
    for user in ("asks-real", "asks-unknown"):
        _fresh_contact(app, user)
    with statements(app.engine) as for_real:
        asked_real = say(app, f"/order {real.id}", "asks-real")
    with statements(app.engine) as for_unknown:
        asked_unknown = say(app, f"/order {UNKNOWN}", "asks-unknown")
    # the replies read alike (the test that matters to a customer), and so does the work
    assert [r.text.replace(real.id, "#") for r in asked_real] == [
        r.text.replace(UNKNOWN, "#") for r in asked_unknown
    ]
    assert len(for_real) == len(for_unknown)
    assert for_real == for_unknown


@pytest.mark.parametrize("proof", ["wrong@example.com", "70001"], ids=["email", "postcode"])
def test_a_wrong_proof_for_a_real_or_an_unknown_order_runs_the_same_statements(
    app: App, real: Order, proof: str
) -> None:
    assert proof not in (real.email, real.postcode)
    for user, order_id in (("guesses-real", real.id), ("guesses-unknown", UNKNOWN)):
        _fresh_contact(app, user)
        say(app, f"/order {order_id}", user)
    with statements(app.engine) as for_real:
        answered_real = say(app, proof, "guesses-real")
    with statements(app.engine) as for_unknown:
        answered_unknown = say(app, proof, "guesses-unknown")
    assert [r.text.replace(real.id, "#") for r in answered_real] == [
        r.text.replace(UNKNOWN, "#") for r in answered_unknown
    ]
    assert len(for_real) == len(for_unknown)
    assert for_real == for_unknown
    with app.sessions() as session:  # both wrong proofs were counted
        keys = session.scalars(select(VerificationFailure.order_key)).all()
    assert sorted(keys) == sorted([real.id.upper(), UNKNOWN])


def test_is_verified_is_one_statement_whether_the_order_exists_or_not(
    app: App, real: Order
) -> None:
    with app.sessions() as session, session.begin():
        contact = _contact(session, "one")
        session.flush()
        assert verify_order(session, contact, real.id, real.email, NOW)
        session.flush()  # so that no autoflush is counted below
        for order_id, expected in ((real.id, True), (UNKNOWN, False), ("#" + real.id, True)):
            with statements(app.engine) as sent:
                assert is_verified(session, contact, order_id) is expected
            assert len(sent) == 1, order_id


def test_a_right_proof_still_shows_the_order_and_links_it(app: App, real: Order) -> None:
    texts = app.services.texts
    status = texts.get(f"order.status.{real.status}", "en")
    summary = texts.get("order.summary", "en", order=real.id, status=status)
    _fresh_contact(app, "owner")
    say(app, f"/order {real.id.lower()}", "owner")
    shown = " ".join(r.text for r in say(app, real.email.upper(), "owner"))
    assert summary in shown
    assert real.shipment is not None and real.shipment.tracking_number
    assert real.shipment.tracking_number in shown  # the full order, shipment included
    assert summary in " ".join(r.text for r in say(app, f"/order #{real.id}", "owner"))


def test_a_proof_outside_ascii_is_checked_not_an_error(app: App, real: Order) -> None:
    with app.sessions() as session, session.begin():
        contact = _contact(session, "unicode")
        session.flush()
        for order_id in (real.id, UNKNOWN):
            assert not verify_order(session, contact, order_id, "jörg@exämple.com", NOW)
            assert not verify_order(session, contact, order_id, "Ü1 23", NOW)


def _contact(session: Any, user: str) -> Contact:
    contact = Contact(
        channel="console", external_id=user, chat_id=user, created_at=NOW, last_seen_at=NOW
    )
    session.add(contact)
    return contact


def _order(order_id: str, email: str) -> Order:
    return Order(
        id=order_id,
        placed_at=NOW,
        email=email,
        country="DE",
        postcode="10115",
        status="shipped",
        total=Decimal("10.00"),
        currency="EUR",
    )


@pytest.mark.parametrize("linked", ["AB-1", "Ab-1"])
def test_verified_means_verified_for_the_order_get_order_shows(app: App, linked: str) -> None:
    """Two ids that differ only in case: what ``/order`` shows is the one a proof unlocked."""
    with app.sessions() as session, session.begin():
        session.add_all([_order("AB-1", "upper@example.com"), _order("Ab-1", "mixed@example.com")])
        contact = _contact(session, "cases")
        session.flush()
        session.add(VerifiedOrder(contact_id=contact.id, order_id=linked, verified_at=NOW))
        session.flush()
        for typed in ("AB-1", "Ab-1", "ab-1", "#ab-1", "aB-1", " #AB-1 "):
            shown = get_order(session, typed)
            assert shown is not None
            assert is_verified(session, contact, typed) is (shown.id == linked), typed
        assert not is_verified(session, contact, "AB-2")


def test_a_proof_is_checked_against_the_order_get_order_shows(app: App) -> None:
    with app.sessions() as session, session.begin():
        session.add_all([_order("AB-1", "upper@example.com"), _order("Ab-1", "mixed@example.com")])
        contact = _contact(session, "proves")
        session.flush()
        assert not verify_order(session, contact, "ab-1", "mixed@example.com", NOW)  # AB-1's
        assert verify_order(session, contact, "ab-1", "upper@example.com", NOW)
        assert verify_order(session, contact, "#Ab-1", "MIXED@example.com", NOW)
        links = session.scalars(select(VerifiedOrder.order_id))
        assert sorted(links) == ["AB-1", "Ab-1"]
