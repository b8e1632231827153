"""Quiet tickets close themselves after ``[handoff] auto_close_hours``, driven by the injected
clock: the customer is told in their language, asked for a rating and handed back to the bot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from bot.app import App, build_app
from bot.config import Settings
from bot.starter import starter_config
from handlers.settings import HandoffSettings
from handlers.ticket_expiry import close_quiet_tickets
from store.clock import ManualClock
from store.models import Ticket
from tests.handlers.conversation import outbox_rows, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Li Wei"}


@pytest.fixture
def desk(db_url: str, clock: ManualClock, knowledge) -> Iterator[App]:  # type: ignore[no-untyped-def]
    settings = Settings(store={"url": db_url}, handoff={"auto_close_hours": 24})
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


def sweep(app: App) -> int:
    with app.sessions() as session, session.begin():
        return close_quiet_tickets(app.services, session)


def ticket(app: App, ticket_id: int = 1) -> Ticket:
    with app.sessions() as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        session.expunge(found)
        return found


@pytest.mark.parametrize("language", ["de", "es", "ja"])
def test_a_quiet_claimed_ticket_closes_itself_and_asks_for_a_rating(
    desk: App, clock: ManualClock, language: str
) -> None:
    texts = desk.knowledge.texts
    say(desk, f"/language {language}", user="c1")
    say(desk, "/human", user="c1")
    say(desk, "/claim 1", user="s1", **STAFF)
    clock.advance(hours=20)
    say(desk, "ok", user="c1")  # a message: the quiet period starts again
    clock.advance(hours=20)
    assert sweep(desk) == 0 and ticket(desk).state == "claimed"
    clock.advance(hours=4, minutes=1)
    assert sweep(desk) == 1
    assert sweep(desk) == 0  # once
    closed = ticket(desk)
    assert (closed.state, closed.awaiting_satisfaction) == ("resolved", True)
    told = [row.payload for row in outbox_rows(desk) if row.payload.get("to") == "c1"][-2:]
    assert told[0]["text"] == texts.get("handoff.auto_closed", language)
    assert told[1]["text"] == texts.get("handoff.satisfaction", language)
    assert [b[1] for b in told[1]["buttons"][0]] == [f"rate:1:{n}" for n in range(1, 6)]
    staff = outbox_rows(desk, "ticket.closed")[0].payload
    assert staff["text"] == texts.get("staff.ticket.auto_closed", "zh", ticket=1, hours="24")
    assert outbox_rows(desk, "ticket.card")[-1].payload["buttons"] == []  # the card is closed

    thanks = say(desk, "4", user="c1")
    assert thanks[0].text == texts.get("handoff.satisfaction_thanks", language)
    assert ticket(desk).satisfaction == 4
    # back with the bot: a new question gets the bot's answer, not "added to your ticket"
    back = say(desk, "/human", user="c1")
    assert "#2" in back[0].text


def test_an_unclaimed_ticket_closes_too_and_a_resolved_one_is_left_alone(
    desk: App, clock: ManualClock
) -> None:
    say(desk, "/human", user="c1")
    say(desk, "/human", user="c2")
    say(desk, "/resolve 2", user="s1", **STAFF)
    clock.advance(hours=25)
    assert sweep(desk) == 1
    assert ticket(desk, 1).state == "resolved"
    assert len(outbox_rows(desk, "ticket.closed")) == 1


@pytest.mark.parametrize("hours", [0, -1, 24 * 91])
def test_auto_close_hours_is_validated(hours: float) -> None:
    with pytest.raises(ValidationError, match="auto_close_hours"):
        HandoffSettings(auto_close_hours=hours)


def test_the_starter_config_names_auto_close_hours_with_its_default() -> None:
    starter = starter_config()
    section = starter.split("[handoff]", 1)[1].split("\n[", 1)[0]
    assert "auto_close_hours = 48.0" in section
    assert Settings().handoff.auto_close_hours == 48.0
