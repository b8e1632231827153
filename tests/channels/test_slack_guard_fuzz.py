"""The Slack request guard under hypothesis: whatever the body and headers, it answers (401,
404, or passes the request on) and never raises; it passes on only what the secret signed,
with the body it read, and a body Bolt could not parse never reaches Bolt.

The guard is driven as the ASGI server drives it; behind it stands a recording ASGI app in
Bolt's place, so that what the guard lets through can be seen.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.slack_guard import EVENTS_PATH, RequestGuard
from tests.fakes.slack_api import signature

SECRET = "guard-fuzz-secret"
NOW = 1_770_000_000.0
HEADER_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)
BODIES = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
    st.dictionaries(
        st.sampled_from(["type", "event", "payload", "user", "actions", "channel", "token"]),
        st.one_of(st.text(max_size=10), st.integers(), st.lists(st.integers(), max_size=2)),
    ).map(lambda value: json.dumps(value).encode()),
)


class Recorder:
    """Bolt's place behind the guard: remembers each body it is handed, answers 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _through(guard: RequestGuard, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {"type": "http", "method": "POST", "path": EVENTS_PATH, "headers": headers}
    sent: list[dict[str, Any]] = []
    chunks = [body[i : i + 128] for i in range(0, len(body), 128)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    return int(sent[0]["status"])


@settings(max_examples=300, deadline=None)
@given(
    body=BODIES,
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
    ),
    signed=st.booleans(),
    timestamp=st.one_of(st.just(str(int(NOW))), HEADER_TEXT),
    signature_text=st.one_of(st.none(), HEADER_TEXT),
)
def test_any_request_is_answered_and_only_what_was_signed_passes(
    body: bytes, content_type: str, signed: bool, timestamp: str, signature_text: str | None
) -> None:
    recorder = Recorder()
    guard = RequestGuard(recorder, SECRET, clock=lambda: NOW)  # type: ignore[arg-type]
    if signed:
        signature_text = signature(SECRET, timestamp, body)
    headers = [(b"content-type", content_type.encode("latin-1"))]
    headers.append((b"x-slack-request-timestamp", timestamp.encode("latin-1")))
    if signature_text is not None:
        headers.append((b"x-slack-signature", signature_text.encode("latin-1")))
    status = asyncio.run(_through(guard, body, headers))
    assert status in (200, 401)
    if status == 200:
        assert signed and timestamp == str(int(NOW))
        assert recorder.bodies == [body]
        parsed = json.loads(body) if body.startswith(b"{") else None
        assert parsed is None or isinstance(parsed, dict)
    else:
        assert recorder.bodies == []
