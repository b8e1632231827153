"""The Slack HTTP endpoint before authentication: it refuses, and does nothing else.

Real requests (signed the way Slack signs them, or forged, stale, malformed) go to the real
Bolt app behind uvicorn. Refusals are 401 without a traceback, one rate-limited WARNING per
reason, and Bolt never sees them; a replayed signed request is acknowledged and runs once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

import aiohttp
import pytest
from multidict import CIMultiDict
from sqlalchemy import func, select

from bot.channels.slack_guard import MAX_BODY, ReplayMemory
from store.models import Contact
from tests.channels.slack_harness import (
    CUSTOMER,
    CUSTOMERS,
    SECRET,
    STAFF,
    STAFF_CHANNEL,
    Desk,
    button,
    command,
    event,
    posts_to,
)
from tests.fakes.slack_api import signature

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _signed(body: bytes, content_type: str = FORM, **override: str) -> list[tuple[str, str]]:
    """Headers Slack would send with ``body`` now; ``override`` replaces some of them."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(SECRET, timestamp, body),
        **override,
    }
    return list(headers.items())


async def _post(
    desk: Desk, body: bytes, headers: list[tuple[str, str]], method: str = "POST"
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, desk.url, data=body, headers=CIMultiDict(headers)) as response,
    ):
        return response.status, await response.text()


def _tickets_command(name: str = "forged") -> bytes:
    return command("/tickets", "", STAFF, STAFF_CHANNEL, f"http://127.0.0.1:9/{name}")


Case = Callable[[], tuple[bytes, list[tuple[str, str]]]]
BAD_REQUESTS: dict[str, Case] = {
    "unsigned": lambda: (_tickets_command(), [("Content-Type", FORM)]),
    "empty timestamp": lambda: (
        _tickets_command(),
        _signed(_tickets_command(), **{"X-Slack-Request-Timestamp": ""}),
    ),
    "non-numeric timestamp": lambda: (
        _tickets_command(),
        _signed(_tickets_command(), **{"X-Slack-Request-Timestamp": "yesterday"}),
    ),
    "thirty-digit timestamp": lambda: (
        _tickets_command(),
        _signed(_tickets_command(), **{"X-Slack-Request-Timestamp": "9" * 30}),
    ),
    "stale": lambda: (
        _tickets_command(),
        _signed(
            _tickets_command(),
            **{
                "X-Slack-Request-Timestamp": (old := str(int(time.time()) - 6 * 60)),
                "X-Slack-Signature": signature(SECRET, old, _tickets_command()),
            },
        ),
    ),
    "wrong signature": lambda: (
        _tickets_command(),
        _signed(_tickets_command(), **{"X-Slack-Signature": "v0=" + "0" * 64}),
    ),
    "garbage signature": lambda: (
        _tickets_command(),
        _signed(_tickets_command(), **{"X-Slack-Signature": "v0=" + "z" * 500}),
    ),
    "empty body": lambda: (b"", _signed(b"")),
    "wrong content type": lambda: (_tickets_command(), _signed(_tickets_command(), "text/plain")),
    "huge body": lambda: (b"x" * (MAX_BODY + 1), _signed(b"x" * (MAX_BODY + 1))),
    "bad JSON, signed": lambda: (
        b'{"type": "event_callback",',
        _signed(b'{"type": "event_callback",', JSON),
    ),
    "a JSON list, signed": lambda: (b"[1, 2]", _signed(b"[1, 2]", JSON)),
    "bad payload JSON, signed": lambda: (b"payload=%7Bnope", _signed(b"payload=%7Bnope")),
    "deeply nested JSON, signed": lambda: (b"[" * 100_000, _signed(b"[" * 100_000, JSON)),
    "not UTF-8, signed": lambda: (b"text=\xff\xfe", _signed(b"text=\xff\xfe")),
    "duplicated timestamp": lambda: (
        _tickets_command(),
        [*_signed(_tickets_command()), ("X-Slack-Request-Timestamp", "1")],
    ),
}


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
async def test_malformed_stale_and_unsigned_requests_get_401_and_nothing_else(
    desk: Desk, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body, headers = BAD_REQUESTS[case]()
    status, _answer = await _post(desk, body, headers)
    assert status == 401
    _no_traceback(caplog)
    refusals = [r for r in caplog.records if r.name == "bot.channels.slack_guard"]
    assert [r.levelno for r in refusals] == [logging.WARNING]
    assert SECRET not in caplog.text and "event_callback" not in caplog.text
    assert not desk.slack.calls  # Bolt never saw it: it would have called auth.test
    await desk.channel.settle()
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


async def test_a_flood_of_forgeries_costs_one_log_line_per_reason(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """3,021 unsigned requests once wrote 1,525 tracebacks; now a line per reason a minute."""
    caplog.set_level(logging.INFO)
    cases = ("unsigned", "non-numeric timestamp", "bad JSON, signed")
    for _ in range(20):
        for case in cases:
            body, headers = BAD_REQUESTS[case]()
            assert (await _post(desk, body, headers))[0] == 401
    refusals = [r.getMessage() for r in caplog.records if r.name == "bot.channels.slack_guard"]
    assert len(refusals) == len(set(refusals)) == len(cases)
    _no_traceback(caplog)


async def test_other_paths_and_methods_are_not_found_without_a_traceback(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    status, _ = await _post(desk, b"", [], method="GET")
    assert status == 404
    async with aiohttp.ClientSession() as session:
        other = desk.url.replace("/slack/events", "/admin")
        async with session.post(other, data=_tickets_command()) as response:
            assert response.status == 404
    _no_traceback(caplog)
    assert not desk.slack.calls


async def test_a_replayed_signed_command_runs_once(desk: Desk) -> None:
    url = desk.slack.response_url("replayed")
    body = command("/tickets", "", STAFF, STAFF_CHANNEL, url)
    headers = _signed(body)
    statuses = [(await _post(desk, body, headers))[0] for _ in range(5)]
    assert statuses == [200] * 5  # Slack (or whoever replays it) is told it arrived
    await desk.slack.wait_for(lambda s: s.calls_to("respond/replayed"))
    await desk.channel.settle()
    assert len(desk.slack.calls_to("respond/replayed")) == 1


async def test_a_replayed_event_runs_once_and_a_fresh_signature_still_counts(
    desk: Desk,
) -> None:
    body = event("EvReplay", user=CUSTOMER, channel=CUSTOMERS, text="hello there", ts="9.1")
    headers = _signed(body, JSON)
    for _ in range(3):
        assert (await _post(desk, body, headers))[0] == 200
    await desk.slack.wait_for(lambda s: posts_to(s, CUSTOMERS))
    other = event("EvOther", user=CUSTOMER, channel=CUSTOMERS, text="thanks", ts="9.2")
    assert (await _post(desk, other, _signed(other, JSON)))[0] == 200
    await desk.slack.wait_for(lambda s: len(posts_to(s, CUSTOMERS)) >= 2)
    await desk.channel.settle()
    assert len(posts_to(desk.slack, CUSTOMERS)) == 2


def test_the_replay_memory_forgets_what_went_stale_and_stays_bounded() -> None:
    memory = ReplayMemory(window=300, memory=3)
    assert memory.first_time(1000, "v0=a", now=1000)
    assert not memory.first_time(1000, "v0=a", now=1299)
    assert memory.first_time(1000, "v0=a", now=1301)  # stale by now: refused before this
    for n in range(10):
        memory.first_time(2000 + n, "v0=b", now=2000)
    assert len(memory._until) == 3


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "event_callback", "event_id": "Ev1", "event": "x"}',
        b'{"type": ["event_callback"], "event": {}}',
        b'{"type": "event_callback", "event": {"type": 7}}',
    ],
    ids=["event a string", "type a list", "event type a number"],
)
async def test_a_signed_body_of_the_wrong_shape_is_refused_without_a_traceback(
    desk: Desk, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status, _ = await _post(desk, body, _signed(body, JSON))
    assert status == 401
    _no_traceback(caplog)
    assert not desk.slack.calls


async def test_an_unknown_command_gets_an_answer_and_an_unknown_button_an_ack(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    url = desk.slack.response_url("unknown")
    body = command("/crossdesk-nonsense", "", STAFF, STAFF_CHANNEL, url)
    assert (await _post(desk, body, _signed(body)))[0] == 200
    answer = await desk.slack.wait_for(lambda s: s.calls_to("respond/unknown"))
    assert "/help" in json.dumps(answer[0].params, ensure_ascii=False)  # what to try instead
    press = button(STAFF, STAFF_CHANNEL, {"ts": "1.1"}, {"action_id": "old", "value": "x"})
    assert (await _post(desk, press, _signed(press)))[0] == 200
    await desk.channel.settle()
    assert "Unhandled request" not in caplog.text
    _no_traceback(caplog)
