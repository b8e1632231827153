"""Fuzzed requests to the Slack HTTP endpoint, from a seed: forgeries, garbage and hostile
customers.

About a third are not Slack's at all (unsigned, a wrong or malformed signature, a stale, empty
or absurd timestamp, an oversized, binary or empty body) and must be refused with 401; some are
signed but malformed (JSON that does not parse, a list, a deep nest, bytes that are not UTF-8),
refused too; the rest are signed as Slack signs them: customers' messages in DMs and in the
shared customer channel with hostile texts (up to a 40,000-character word), slash commands with
absurd arguments, button presses with arbitrary values, events of odd shapes, and replays.

Each :class:`SlackRequest` says which statuses are right for it and what the bot owes: a post
in a DM channel, an answer at a command's ``response_url``, or nothing.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import signature
from tests.storm.telegram_fuzz import TROUBLE, WORDS

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
SLACK_MAX_TEXT = 40_000
FORGERIES = ("unsigned", "wrong signature", "malformed signature", "stale", "future",
             "empty timestamp", "words for a timestamp", "huge timestamp")  # fmt: skip


@dataclass
class SlackRequest:
    """One request: its body, how it is signed (``"good"`` or a forgery), the statuses that
    are right for it, and what the bot owes for it."""

    body: bytes
    content_type: str
    signing: str = "good"
    statuses: tuple[int, ...] = (200,)
    dm_due: str | None = None  # a DM channel owed a post
    respond_due: str | None = None  # a response_url name owed an answer
    replay_of: SlackRequest | None = None  # sent again with the very same headers
    headers: list[tuple[str, str]] = field(default_factory=list)

    def signed_headers(self, secret: str, now: float | None = None) -> list[tuple[str, str]]:
        """The headers to send now (kept, so that a replay sends the very same ones)."""
        if self.replay_of is not None:
            return self.replay_of.signed_headers(secret, now)
        if self.headers:
            return self.headers
        now = time.time() if now is None else now
        stamp = str(int(now))
        headers = [("Content-Type", self.content_type)]
        good = signature(secret, stamp, self.body)
        forged = {
            "unsigned": [],
            "wrong signature": [("X-Slack-Request-Timestamp", stamp),
                                ("X-Slack-Signature", "v0=" + "0" * 64)],
            "malformed signature": [("X-Slack-Request-Timestamp", stamp),
                                    ("X-Slack-Signature", "v1=\u00e9" * 40)],
            "stale": [("X-Slack-Request-Timestamp", str(int(now) - 3600)),
                      ("X-Slack-Signature", signature(secret, str(int(now) - 3600), self.body))],
            "future": [("X-Slack-Request-Timestamp", str(int(now) + 3600)),
                       ("X-Slack-Signature", signature(secret, str(int(now) + 3600), self.body))],
            "empty timestamp": [("X-Slack-Request-Timestamp", ""), ("X-Slack-Signature", good)],
            "words for a timestamp": [("X-Slack-Request-Timestamp", "yesterday"),
                                      ("X-Slack-Signature", good)],
            "huge timestamp": [("X-Slack-Request-Timestamp", "9" * 40),
                               ("X-Slack-Signature", good)],
            "good": [("X-Slack-Request-Timestamp", stamp), ("X-Slack-Signature", good)],
        }  # fmt: skip
        headers += forged[self.signing]
        self.headers = [(k, v.encode("utf-8", "replace").decode("latin-1")) for k, v in headers]
        return self.headers


class SlackFuzzer:
    """Builds storms of Slack requests; the same seed gives the same storms."""

    def __init__(self, seed: int, customer_channel: str, staff_channel: str, staff: str) -> None:
        self.random = random.Random(seed)
        self.customer_channel = customer_channel
        self.staff_channel = staff_channel
        self.staff = staff
        self._n = 0
        self.users: dict[str, tuple[str, str]] = {}  # user id -> (name, locale) for the fake

    def text(self, limit: int = 3000) -> str:
        pick = self.random.random()
        if pick < 0.04:
            return "w" * SLACK_MAX_TEXT  # one 40,000-character word
        if pick < 0.08:
            return "9" * self.random.randint(19, 200)
        parts = [
            self.random.choice(WORDS if self.random.random() < 0.6 else TROUBLE)
            for _ in range(self.random.randint(1, 20))
        ]
        parts += ["<!channel>", "<@U123|x>", "&lt;b&gt;", "<mailto:a@b.c|a@b.c>"][
            : self.random.randint(0, 4)
        ]
        self.random.shuffle(parts)
        text = " ".join(parts)[:limit]
        return text if text.strip("\x00 ") else "?"

    def _user(self) -> str:
        self._n += 1
        user = f"UF{self._n:06d}"
        if self.random.random() < 0.7:  # others are unknown to users.info
            name = self.random.choice(["Dana", "N" * 300, "\u202eאבג", "\ud800x", "<b>x</b>"])
            locale = self.random.choice(["en-US", "de-DE", "xx-YY", "", "zh-CN", "\u202e"])
            self.users[user] = (name, locale)
        return user

    def _event(self, event: dict[str, Any], event_id: str | None = None) -> bytes:
        body = {
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id or f"EvF{self._n}",
            "event_time": 1770000000,
            "event": event,
        }
        return json.dumps(body).encode()

    # --- the kinds of request ----------------------------------------------------------------

    def _forgery(self) -> SlackRequest:
        user = self._user()
        body = self._event({"type": "message", "user": user, "channel": f"D{user}",
                            "channel_type": "im", "text": self.text(), "ts": "1.1"})  # fmt: skip
        if self.random.random() < 0.3:
            body = self.random.randbytes(self.random.randint(0, 4000))
        return SlackRequest(body, JSON, self.random.choice(FORGERIES), statuses=(401,))

    def _signed_garbage(self) -> SlackRequest:
        body, content_type = self.random.choice(
            [
                (b'{"type": "event_callback",', JSON),
                (b"[1, 2, 3]", JSON),
                (b"[" * 50_000, JSON),
                (b"", FORM),
                (b"payload=%7Bnope", FORM),
                (b"text=\xff\xfe\xfd", FORM),
                (self.random.randbytes(2000), JSON),
                (b"x" * (1024 * 1024 + 10), FORM),
                (b'"just a string"', JSON),
            ]
        )
        return SlackRequest(body, content_type, statuses=(401,))

    def _dm(self) -> SlackRequest:
        user = self._user()
        channel = f"D{user}"
        body = self._event({"type": "message", "user": user, "channel": channel,
                            "channel_type": "im", "text": self.text(),
                            "ts": f"1770000000.{self._n:06d}"})  # fmt: skip
        return SlackRequest(body, JSON, dm_due=channel)

    def _shared_channel(self) -> SlackRequest:
        user = self._user()
        body = self._event({"type": "message", "user": user, "channel": self.customer_channel,
                            "channel_type": "channel", "text": self.text(),
                            "ts": f"1770000001.{self._n:06d}"})  # fmt: skip
        return SlackRequest(body, JSON)

    def _odd_event(self) -> SlackRequest:
        user = self._user()
        event: dict[str, Any] = self.random.choice(
            [
                {"type": "message", "subtype": "bot_message", "bot_id": "BX", "text": "x",
                 "channel": self.customer_channel, "ts": "2.1"},
                {"type": "message", "subtype": "message_changed", "channel": f"D{user}",
                 "message": {"text": self.text()}, "ts": "2.2"},
                {"type": "message", "channel": f"D{user}", "channel_type": "im", "ts": "x"},
                {"type": "message", "user": user, "channel": f"D{user}", "channel_type": "im",
                 "text": 12345, "ts": ""},
                {"type": "message", "user": [user], "channel": None, "text": None},
                {"type": "reaction_added", "user": user, "reaction": "tada"},
                {"type": "app_mention", "user": user, "channel": self.customer_channel,
                 "text": "<@UBOT> " + self.text(), "ts": "2.3"},
                {"type": self.text(20)},
            ]
        )  # fmt: skip
        body = self._event(event)
        if self.random.random() < 0.2:
            body = json.dumps({"type": "event_callback", "event_id": 7, "event": "x"}).encode()
        return SlackRequest(body, JSON, statuses=(200, 401))  # 401: malformed, refused

    def _command(self, fake_url: str) -> SlackRequest:
        user = self.staff if self.random.random() < 0.3 else self._user()
        name = f"storm{self._n}"
        command = self.random.choice(["/order", "/stock", "/tickets", "/alerts", "/claim",
                                      "/resolve", "/note", "/help", "/crossdesk"])  # fmt: skip
        argument = self.random.choice(
            ["", "10042", "9" * self.random.randint(19, 90), "#" + "B" * 80, self.text(500)]
        )
        channel = self.staff_channel if user == self.staff else f"D{user}"
        # a form body is UTF-8: what Slack sends holds no lone surrogate (JSON may escape one)
        argument = argument.encode("utf-8", "replace").decode("utf-8")
        body = urlencode(
            {
                "token": "legacy", "team_id": "T0001", "channel_id": channel,
                "channel_name": "somewhere", "user_id": user, "user_name": user.lower(),
                "command": command, "text": argument,
                "response_url": f"{fake_url}respond/{name}",
                "trigger_id": f"{self._n}.{self.random.randint(1, 10**9)}", "api_app_id": "A1",
            }
        ).encode()  # fmt: skip
        return SlackRequest(body, FORM, respond_due=name)

    def _button(self) -> SlackRequest:
        user = self.staff if self.random.random() < 0.5 else self._user()
        value = self.random.choice(["claim:" + "9" * 30, "resolve:1", "human", self.text(100)])
        action_id = self.random.choice(["claim", "resolve", "human", "helpful", self.text(20)])
        payload = {
            "type": "block_actions",
            "team": {"id": "T0001"},
            "user": {"id": user, "username": "x", "name": "x"},
            "api_app_id": "A1",
            "token": "legacy",
            "container": {"type": "message", "message_ts": "9.9", "channel_id": f"D{user}"},
            "trigger_id": f"{self._n}.9.9",
            "channel": {"id": self.random.choice([f"D{user}", self.staff_channel]), "name": "x"},
            "message": {"type": "message", "ts": "9.9", "text": "an answer"},
            "response_url": "http://127.0.0.1:9/unused",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1",
                         "value": value, "action_ts": f"1770000002.{self._n:06d}"}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return SlackRequest(body, FORM)

    def _url_verification(self) -> SlackRequest:
        body = json.dumps({"type": "url_verification", "token": "legacy",
                           "challenge": self.text(60)}).encode()  # fmt: skip
        return SlackRequest(body, JSON)

    KINDS = {"_forgery": 30, "_signed_garbage": 8, "_dm": 25, "_shared_channel": 10,
             "_odd_event": 10, "_command": 10, "_button": 5, "_url_verification": 2}  # fmt: skip

    def storm(self, size: int, fake_url: str) -> list[SlackRequest]:
        """``size`` requests; about one in twenty is a replay of an earlier signed one."""
        requests: list[SlackRequest] = []
        names = list(self.KINDS)
        weights = [self.KINDS[name] for name in names]
        for _ in range(size):
            signed = [r for r in requests if r.signing == "good" and r.statuses == (200,)]
            if signed and self.random.random() < 0.05:
                original = self.random.choice(signed)
                requests.append(
                    SlackRequest(original.body, original.content_type, replay_of=original)
                )
                continue
            kind = self.random.choices(names, weights)[0]
            maker = getattr(self, kind)
            requests.append(maker(fake_url) if kind == "_command" else maker())
        return requests
