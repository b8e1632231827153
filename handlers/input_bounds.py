"""Bounds and validity of what channels hand over: the one gate between platforms and the store.

Platforms deliver whatever their users (or anyone who can forge an update) send: lone UTF-16
surrogates that no database driver can encode, NUL characters PostgreSQL refuses in text,
100,000-character words, names longer than any column, and button payloads holding 20-digit
numbers. :class:`handlers.messages.IncomingMessage` runs each of its fields through here when
it is made, so handlers, their regexes and the store only ever see valid, bounded values; and
handlers read numbers out of commands and button payloads with :func:`bounded_int` and
:func:`order_number`, which answer None for what cannot be an id instead of raising.

Column sizes are read off the tables in ``store/models.py``, so a migration that widens a
column widens the bound with it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from sqlalchemy import ColumnElement

from store.models import AlertState, Contact, MessageRef, Order, Silence, Ticket, TicketMessage
from store.orders import valid_order_id

# One Telegram message holds 4096 characters. Slack allows 40,000; a longer text is cut here
# (and the customer told), so nothing below ever reads more than this.
MAX_TEXT_CHARS = 4096
# Telegram's callback data is at most 64 bytes; Slack's button values are ours as well. An
# action longer than this was not made by CrossDesk and is dropped, not cut.
MAX_ACTION_CHARS = 256
MAX_LANGUAGE_TAG_CHARS = 35  # the longest BCP 47 tags in use ("zh-Hans-CN-x-private"...)
# INTEGER on PostgreSQL is 32 bits (SQLite takes 64): the largest ticket or silence id there is
MAX_DB_INTEGER = 2**31 - 1


def _length(*columns: ColumnElement[str]) -> int:
    lengths = [getattr(column.type, "length", None) for column in columns]
    assert all(lengths), "only sized String columns bound input"
    return min(int(length) for length in lengths if length)


# a display name is stored as the contact's name and, for staff, as a ticket's assignee, an
# author in the transcript, the one who acknowledged an alert or created a silence
DISPLAY_NAME_CHARS = _length(
    Contact.__table__.c.display_name,
    Ticket.__table__.c.assignee,
    TicketMessage.__table__.c.author_name,
    AlertState.__table__.c.acked_by,
    Silence.__table__.c.created_by,
)
PLATFORM_ID_CHARS = _length(Contact.__table__.c.external_id, Contact.__table__.c.chat_id)
MESSAGE_ID_CHARS = _length(MessageRef.__table__.c.message_id)
ORDER_ID_CHARS = _length(
    Order.__table__.c.id, Contact.__table__.c.pending_order_id, Ticket.__table__.c.order_id
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS = re.compile("[0-9]{1,10}")  # ASCII digits only: str.isdigit() also takes "²" and "١"
_LANGUAGE_TAG = re.compile("[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
_DIGEST_CHARS = 32


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """``text`` made storable and bounded, and whether it had to be cut.

    NUL characters go (PostgreSQL cannot store them and they mean nothing in a chat), lone
    surrogates become U+FFFD (a correctly paired one is joined into its character), the text
    is put in NFC (so "é" typed two ways is one string to the regexes and the store) and cut
    to ``limit`` characters. The common case, short clean ASCII, costs three checks.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    cut = len(text) > limit
    if cut:
        text = text[:limit]
    if text.isascii():
        return text, cut
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = unicodedata.normalize("NFC", text)
    if len(text) > limit:  # a few characters decompose under NFC
        text, cut = text[:limit], True
    return text, cut


def display_name(name: str | None) -> str | None:
    """A person's name as shown to staff: clean, on one line, at most the column's size."""
    if not name:
        return None
    cleaned, _ = clean_text(name, DISPLAY_NAME_CHARS * 2)
    cleaned = " ".join(cleaned.split())[:DISPLAY_NAME_CHARS]
    return cleaned or None


def platform_id(value: str, limit: int = PLATFORM_ID_CHARS) -> str:
    """A platform's id of a user, chat or message, fitting a column of ``limit`` characters.

    Ids identify people, so they are never merely cut: two ids sharing their first hundred
    characters would become one contact, with one person's verified orders. An id that does
    not fit, or had to be cleaned, keeps a readable prefix and ends in a digest of the whole,
    so it stays unique and stable. Telegram's and Slack's real ids are short and never change.
    """
    if len(value) <= limit and value.isprintable():  # lone surrogates are not printable
        return value
    raw = value.encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(raw, digest_size=_DIGEST_CHARS // 2).hexdigest()
    prefix, _ = clean_text(value, limit)
    prefix = "".join(ch for ch in prefix if ch.isprintable() and ch != "\ufffd")
    return f"{prefix[: limit - _DIGEST_CHARS - 1]}~{digest}"


def optional_id(value: str | None, limit: int = MESSAGE_ID_CHARS) -> str | None:
    """:func:`platform_id` for ids a message may lack (its own id, the thread it answers)."""
    return None if value is None else platform_id(value, limit)


def language_tag(tag: str | None) -> str | None:
    """The platform's language tag ("en", "pt-BR") if it looks like one, else None."""
    if not tag or len(tag) > MAX_LANGUAGE_TAG_CHARS or not _LANGUAGE_TAG.fullmatch(tag):
        return None
    return tag


def button_action(action: str | None) -> str | None:
    """A pressed button's action, clean; an action too long to be one of ours becomes ``""``."""
    if action is None:
        return None
    if len(action) > MAX_ACTION_CHARS:
        return ""
    return clean_text(action, MAX_ACTION_CHARS)[0]


def bounded_int(text: str, maximum: int = MAX_DB_INTEGER) -> int | None:
    """The number ``text`` spells in ASCII digits, if it is at most ``maximum``; else None.

    For ids in commands and button payloads: ``"00012"`` is 12, ``"1e3"``, ``"²"``, ``"-4"`` and
    a 20-digit number are None, so a lookup never overflows an INTEGER column.
    """
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


def order_number(argument: str) -> str | None:
    """The order id in a ``/order`` argument ("10234", "#10234", "SZ-20001", "#A1B2C3",
    "302-1234567-1234567"), or None if it cannot be one (``store.orders.ORDER_ID_RULES``:
    longer than the column, or other characters). A full stop or question mark typed after
    it is not part of it."""
    return valid_order_id(argument.strip().rstrip(".,;:!?"))
