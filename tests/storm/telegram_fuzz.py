"""Fuzzed Telegram updates, from a seed: what a hostile or merely strange world sends a bot.

Texts mix lone surrogates, NUL, bidi controls, combining marks, emoji, markup that breaks
HTML, numbers too large for any column, and the longest message Telegram allows; users have
huge, right-to-left or empty names and odd language codes; updates come as private messages,
commands, photos, stickers, contacts, button presses with arbitrary data, group chatter,
edits, kinds the bot does not subscribe to, and structures python-telegram-bot cannot parse.

Every update says what the bot owes for it (:class:`Due`): a reply in the chat, an answer to
the button press, or nothing. Personal data planted in texts (e-mail addresses, phone numbers,
proofs) is listed in :attr:`Storm.personal` so that a test can look for it in the logs.
"""

from __future__ import annotations

import enum
import json
import random
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram_api import BOT_USERNAME, TOKEN

BOT_ID = int(TOKEN.split(":")[0])
TELEGRAM_MAX_TEXT = 4096  # what Telegram lets a user send, in UTF-16 code units
TELEGRAM_MAX_CAPTION = 1024

TROUBLE = [
    "\ud800", "\udfff", "\ud83d", "\x00", "\u202e", "\u202d", "\u2066", "\u200f", "\ufeff",
    "\u0301\u0301\u0301", "\u200b", "\U0001f4a9", "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1e9\U0001f1ea", "<b>", "</pre>", "<a href='x'>", "&amp", "&#0;", "*_`[", "\\",
    "\r\n", "\t", "%s%n", "{0}", "{text}", "'; DROP TABLE contacts; --", "$(reboot)",
]  # fmt: skip
WORDS = [
    "hello", "where", "is", "my", "order", "parcel", "refund", "broken", "damaged", "return",
    "shipping", "to", "Canada", "delivery", "how", "long", "thanks", "bye", "human", "please",
    "wo", "ist", "meine", "Bestellung", "dónde", "está", "mi", "pedido", "где", "мой", "заказ",
    "我的", "订单", "在哪里", "الطلب", "أين", "注文", "どこ", "commande", "colis", "rimborso",
]  # fmt: skip
SCRIPTS = [(0x41, 0x7A), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF), (0x4E00, 0x9FFF),
           (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0x0, 0x1F)]  # fmt: skip
COMMANDS = ["/start", "/help", "/order", "/stock", "/tickets", "/alerts", "/claim", "/resolve",
            "/note", "/human", "/nonsense", "/START", "/order@" + BOT_USERNAME]  # fmt: skip
LANGUAGE_CODES = [None, "en", "de", "es-419", "zh-hans", "pt-br", "", "xx", "q" * 40, "\u202e"]


class Due(enum.Enum):
    """What the bot owes for an update."""

    REPLY = "a message in the chat"
    ANSWER = "an answer to the button press"
    NOTHING = "nothing (but no error either)"


@dataclass
class Storm:
    """One storm's updates, what each is owed, and the personal data planted in them."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    replies_due: set[int] = field(default_factory=set)  # private chats owed a reply
    answers_due: set[str] = field(default_factory=set)  # callback query ids owed an answer
    personal: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


class TelegramFuzzer:
    """Builds storms of updates; the same seed gives the same storms."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self._update_id = 0
        self._message_id = 0
        self._query_id = 0

    # --- texts -------------------------------------------------------------------------------

    def text(self, limit: int = TELEGRAM_MAX_TEXT) -> str:
        """A hostile text of at most ``limit`` UTF-16 code units, never empty or blank."""
        pick = self.random.random()
        if pick < 0.05:
            body = self.random.choice(TROUBLE) * self.random.randint(500, 3000)
        elif pick < 0.10:
            body = "9" * self.random.randint(20, 300)
        elif pick < 0.15:
            body = "x" * self.random.randint(min(1000, limit), limit)  # one long word
        else:
            parts = []
            for _ in range(self.random.randint(1, 25)):
                roll = self.random.random()
                if roll < 0.45:
                    parts.append(self.random.choice(WORDS))
                elif roll < 0.75:
                    parts.append(self.random.choice(TROUBLE))
                else:
                    low, high = self.random.choice(SCRIPTS)
                    parts.append("".join(chr(self.random.randint(low, high)) for _ in range(8)))
            body = self.random.choice([" ", "", "\n"]).join(parts)
        body = _fit_utf16(body, limit)
        return body if body.strip("\x00 \t\r\n") else "?" + body[: limit - 1]

    def _personal(self, storm: Storm, n: int) -> str:
        """A sentence with an e-mail address, a phone number or a proof in it (remembered)."""
        kind = self.random.choice(["email", "phone", "postcode"])
        if kind == "email":
            value = f"storm.person.{n}.{self.random.randint(1000, 9999)}@example.org"
            said = f"my email is {value}, order 10042"
        elif kind == "phone":
            value = f"+4915{self.random.randint(10**8, 10**9 - 1)}"
            said = f"call me on {value} about my refund"
        else:
            value = f"PC{self.random.randint(10**6, 10**7 - 1)}Z"
            said = value
        storm.personal.append(value)
        return said

    # --- building blocks ---------------------------------------------------------------------

    def _next_update(self, body: dict[str, Any]) -> dict[str, Any]:
        self._update_id += 1
        return {"update_id": self._update_id, **body}

    def _user(self, user_id: int) -> dict[str, Any]:
        name_roll = self.random.random()
        if name_roll < 0.1:
            name = "N" * self.random.randint(200, 300)
        elif name_roll < 0.2:
            name = "\u202e" + "אבג" * 20
        elif name_roll < 0.3:
            name = self.random.choice(TROUBLE) * 5
        else:
            name = f"C{user_id}"
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name or "x"}
        if self.random.random() < 0.2:
            user["last_name"] = self.text(64)
        if self.random.random() < 0.2:
            user["username"] = "u" * self.random.randint(5, 32)
        code = self.random.choice(LANGUAGE_CODES)
        if code is not None:
            user["language_code"] = code
        return user

    def _message(self, user_id: int, chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        self._message_id += 1
        return {
            "message_id": self._message_id,
            "date": 1770000000 + self._message_id,
            "chat": chat,
            "from": self._user(user_id),
            **content,
        }

    def _private(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": f"C{user_id}"}

    def _entities(self, text: str) -> list[dict[str, Any]] | None:
        if text.startswith("/"):
            return [{"type": "bot_command", "offset": 0, "length": len(text.split(" ")[0])}]
        if self.random.random() < 0.1:  # entities that point past the text
            return [{"type": "bold", "offset": self.random.randint(0, 10_000), "length": 99}]
        return None

    # --- the kinds of update -----------------------------------------------------------------

    def _text_message(self, storm: Storm, user: int) -> dict[str, Any]:
        text = self._personal(storm, user) if self.random.random() < 0.15 else self.text()
        content: dict[str, Any] = {"text": text}
        if entities := self._entities(text):
            content["entities"] = entities
        storm.replies_due.add(user)
        return {"message": self._message(user, self._private(user), **content)}

    def _command(self, storm: Storm, user: int) -> dict[str, Any]:
        name = self.random.choice(COMMANDS)
        argument = self.random.choice(
            ["", "10042", "9" * self.random.randint(19, 80), "#" + "A" * 70, self.text(200)]
        )
        text = _fit_utf16(f"{name} {argument}".rstrip(), TELEGRAM_MAX_TEXT)
        storm.replies_due.add(user)
        return {"message": self._message(user, self._private(user), text=text,
                                         entities=self._entities(text))}  # fmt: skip

    def _attachment(self, storm: Storm, user: int) -> dict[str, Any]:
        kind = self.random.choice(["photo", "sticker", "voice", "location", "contact", "document"])
        content: dict[str, Any]
        if kind == "photo":
            content = {"photo": [{"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90,
                                  "height": 90}]}  # fmt: skip
            if self.random.random() < 0.5:
                content["caption"] = self.text(TELEGRAM_MAX_CAPTION)
        elif kind == "sticker":
            content = {"sticker": {"file_id": "CAAD", "file_unique_id": "AgAD", "type": "regular",
                                   "width": 512, "height": 512, "is_animated": False,
                                   "is_video": False}}  # fmt: skip
        elif kind == "voice":
            content = {"voice": {"file_id": "AwAD", "file_unique_id": "AgAE", "duration": 3}}
        elif kind == "location":
            content = {"location": {"latitude": 52.52, "longitude": 13.40}}
        elif kind == "contact":
            phone = f"+3361{self.random.randint(10**6, 10**7 - 1)}"
            storm.personal.append(phone)
            content = {"contact": {"phone_number": phone, "first_name": "Me", "user_id": user}}
        else:
            content = {"document": {"file_id": "BQAD", "file_unique_id": "AgAF",
                                    "file_name": self.text(200)}}  # fmt: skip
        storm.replies_due.add(user)
        return {"message": self._message(user, self._private(user), **content)}

    def _button(self, storm: Storm, user: int) -> dict[str, Any]:
        self._query_id += 1
        query_id = f"q{self._query_id}"
        data = self.random.choice(
            [
                "rate:" + "9" * 20,
                "helpful:yes:" + self.text(20),
                "helpful:no:returns_policy",
                "human",
                "claim:" + "9" * 30,
                "",
                self.text(20),
            ]
        )
        data = data.encode("utf-8", "surrogatepass")[:64].decode("utf-8", "ignore")
        self._message_id += 1
        shown = {
            "message_id": self._message_id,
            "date": 1770000000,
            "chat": self._private(user),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "CrossDesk test"},
            "text": "an earlier answer",
        }
        query: dict[str, Any] = {"id": query_id, "from": self._user(user),
                                 "chat_instance": str(user), "message": shown}  # fmt: skip
        if data:
            query["data"] = data
            storm.answers_due.add(query_id)
        return {"callback_query": query}

    def _group(self, storm: Storm, user: int) -> dict[str, Any]:
        group = {"id": -1000000000000 - user, "type": "supergroup", "title": self.text(100)}
        text = self.text()
        if self.random.random() < 0.5:
            handle = f"@{BOT_USERNAME}"
            text = _fit_utf16(f"{handle} {text}", TELEGRAM_MAX_TEXT)
            entities = [{"type": "mention", "offset": 0, "length": len(handle)}]
            return {"message": self._message(user, group, text=text, entities=entities)}
        return {"message": self._message(user, group, text=text)}

    def _edited(self, storm: Storm, user: int) -> dict[str, Any]:
        message = self._message(user, self._private(user), text=self.text(), edit_date=1770000001)
        return {"edited_message": message}

    def _not_subscribed(self, storm: Storm, user: int) -> dict[str, Any]:
        kind = self.random.choice(["channel_post", "my_chat_member", "poll", "future_kind"])
        if kind == "channel_post":
            chat = {"id": -1002000000000 - user, "type": "channel", "title": "news"}
            return {"channel_post": {"message_id": 1, "date": 1770000000, "chat": chat,
                                     "text": self.text()}}  # fmt: skip
        if kind == "poll":
            return {"poll": {"id": "p1", "question": self.text(255), "options": [],
                             "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
                             "type": "regular", "allows_multiple_answers": False}}  # fmt: skip
        if kind == "my_chat_member":
            return {"my_chat_member": {"chat": self._private(user), "from": self._user(user),
                                       "date": 1770000000, "old_chat_member": {},
                                       "new_chat_member": {}}}  # fmt: skip
        return {"future_kind": {"anything": self.text(50)}}

    def _unparseable(self, storm: Storm, user: int) -> dict[str, Any]:
        message = self._message(user, self._private(user), text=self.text(300))
        broken = self.random.choice(
            [
                {"date": "yesterday"},
                {"chat": "not an object"},
                {"entities": "not a list"},
                {"from": {"id": "abc"}},
                {"from": None, "text": None},
            ]
        )
        message.update(broken)
        return {"message": message}

    KINDS = {
        "_text_message": 40, "_command": 12, "_attachment": 10, "_button": 10, "_group": 10,
        "_edited": 6, "_not_subscribed": 6, "_unparseable": 6,
    }  # fmt: skip

    def storm(self, size: int, first_user: int) -> Storm:
        """``size`` updates from users ``first_user`` onwards, one user per update kind drawn,
        so that what each chat is owed is known exactly."""
        result = Storm()
        names = list(self.KINDS)
        weights = [self.KINDS[name] for name in names]
        for n in range(size):
            kind = self.random.choices(names, weights)[0]
            body = getattr(self, kind)(result, first_user + n)
            result.updates.append(self._next_update(body))
            result.kinds[kind.strip("_")] = result.kinds.get(kind.strip("_"), 0) + 1
        return result


def _fit_utf16(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (a lone surrogate counts as one)."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def encode(updates: list[dict[str, Any]]) -> bytes:
    """JSON as Telegram sends it (lone surrogates as ``\\ud800`` escapes, which is valid JSON)."""
    return json.dumps(updates, ensure_ascii=True).encode()
