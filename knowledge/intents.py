"""Intents the FAQ does not answer: disputes, order questions, small talk, order numbers.

The phrases live in the knowledge base's ``lexicon/<lang>.yaml`` files, so a seller can teach
the bot a new way of complaining without touching code. Escalation wins over everything: a
customer who says the parcel never came and wants their money back has a dispute, not a
question about refund times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.kb import ESCALATION_REASONS, Lexicon, normalise

# "#10234", "CD-10234", "No. 10234", "订单号10234", "注文番号：10234", "رقم الطلب 10234"
_MARKED_NUMBER = re.compile(
    r"(?:#|№|\bno\.?\s*|\bnr\.?\s*|\bn[º°o]\.?\s*|\b[a-z]{2,4}-)\s*(\d{4,12})\b", re.IGNORECASE
)
_CJK_MARKED = re.compile(
    r"(?:订单号?|訂單號?|单号|單號|注文番号?|注文|オーダー|番号)\s*[:：#]?\s*(\d{4,12})"
)
_BARE_NUMBER = re.compile(r"(?<![\d.,:/+-])(\d{5,10})(?![\d.,:/])")
_WORD_GAP = r"[\s:：#№.\-]*(?:(?:number|nummer|numéro|número|numero|номер|رقم)\s*)?[\s:：#№.\-]*"


def find_escalation(text: str, lexicons: Iterable[Lexicon]) -> str | None:
    """The escalation reason the message shows in any of ``lexicons`` (in order), or None."""
    normalised = normalise(text)
    for lexicon in lexicons:
        for reason in ESCALATION_REASONS:
            for pattern in lexicon.escalate.get(reason, ()):
                if pattern.search(normalised):
                    return reason
    return None


def asks_order_status(text: str, lexicon: Lexicon | None) -> bool:
    """Whether the customer asks where their order is or what its status is."""
    if lexicon is None:
        return False
    normalised = normalise(text)
    return any(pattern.search(normalised) for pattern in lexicon.order_status)


def find_smalltalk(text: str, lexicon: Lexicon | None) -> str | None:
    """``greeting``, ``thanks`` or ``bye`` if the message is that and little more."""
    if lexicon is None:
        return None
    normalised = normalise(text)
    for kind in ("thanks", "bye", "greeting"):
        if any(pattern.search(normalised) for pattern in lexicon.smalltalk.get(kind, ())):
            return kind
    return None


def find_order_number(
    text: str, order_words: Iterable[str] = (), *, allow_bare: bool = False
) -> str | None:
    """The order number in ``text`` in the forms customers type it, or None.

    Marked numbers (``#10234``, ``CD-10234``, ``订单号10234``, "order 10234") are always taken;
    a bare 5-10 digit number only with ``allow_bare`` (the message is about an order), because
    postcodes and phone numbers look the same.
    """
    normalised = normalise(text)
    for pattern in (_MARKED_NUMBER, _CJK_MARKED):
        match = pattern.search(normalised)
        if match:
            return match.group(1)
    for word in order_words:
        if not word:
            continue
        match = re.search(re.escape(word) + _WORD_GAP + r"(\d{4,12})\b", normalised)
        if match:
            return match.group(1)
    if allow_bare:
        match = _BARE_NUMBER.search(normalised)
        if match:
            return match.group(1)
    return None


def mentions_order_word(text: str, lexicon: Lexicon | None) -> bool:
    """Whether the message names an order at all ("order", "Bestellung", "订单")."""
    if lexicon is None:
        return False
    normalised = normalise(text)
    return any(word and word in normalised for word in lexicon.order_words)


def lexicon_intent(text: str, lexicon: Lexicon) -> str:
    """What the lexicon alone says: escalate, order_status, smalltalk or none (for KB tests)."""
    if find_escalation(text, [lexicon]):
        return "escalate"
    if asks_order_status(text, lexicon):
        return "order_status"
    if find_smalltalk(text, lexicon):
        return "smalltalk"
    return "none"
