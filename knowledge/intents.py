"""Intents the FAQ does not answer: disputes, order questions, small talk.

The phrases live in the knowledge base's ``lexicon/<lang>.yaml`` files, so a seller can teach
the bot a new way of complaining without touching code. Escalation wins over everything: a
customer who says the parcel never came and wants their money back has a dispute, not a
question about refund times. Order ids in the text are ``knowledge/order_ids.py``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.kb import CJK_CHAR, ESCALATION_REASONS, Lexicon, normalise

# The reason a ticket is filed under when a message shows several: the costliest first.
REASONS_BY_WEIGHT = ("chargeback", "damaged", "wrong_item", "refund_demand", "not_received",
                     "angry", "complaint", "human")  # fmt: skip


def find_escalations(text: str, lexicons: Iterable[Lexicon]) -> list[str]:
    """Every escalation reason the message shows in any of ``lexicons``, costliest first."""
    normalised = normalise(text)
    found: set[str] = set()
    for lexicon in lexicons:
        groups = lexicon.escalate_groups
        found.update(
            reason
            for reason in ESCALATION_REASONS
            if reason not in found and reason in groups and groups[reason].search(normalised)
        )
    return [reason for reason in REASONS_BY_WEIGHT if reason in found]


def asks_order_status(text: str, lexicon: Lexicon | None) -> bool:
    """Whether the customer asks where their order is or what its status is."""
    if lexicon is None:
        return False
    return lexicon.order_status_group.search(normalise(text))


def still_waiting(text: str, reasons: list[str], lexicon: Lexicon | None) -> bool:
    """Whether a "not received" message is a customer still waiting who asks where the order
    is ("still nothing, where is my parcel?"), not a dispute.

    It is when not_received is the only reason, the customer asks for the order's status, the
    lexicon's ``still_waiting`` phrases say "not yet" ("still", "aún no", "还没") and none of
    its ``overdue`` phrases says "never", "lost", "weeks" or "marked delivered". Those get the
    order's status (with a button to a person); the rest open a ticket as before.
    """
    if reasons != ["not_received"] or lexicon is None:
        return False
    normalised = normalise(text)
    return (
        lexicon.still_waiting_group.search(normalised)
        and not lexicon.overdue_group.search(normalised)
        and lexicon.order_status_group.search(normalised)
    )


# Where a chat message splits into parts: "coucou, bonsoir", "danke & tschüss", "هلا، شكرا"
_SEGMENT_BREAK = re.compile(r"\s*(?:[,.!?;:&…،؛؟。，！？、・]+|\s-\s)\s*")
_FILLER_WORDS = 2  # "alles klar", "vale", "ok": a part this short may ride along


def _is_filler(segment: str) -> bool:
    if CJK_CHAR.search(segment):
        return len(segment) <= 3  # "好的", "了解", "はい"
    return len(segment.split()) <= _FILLER_WORDS


def _smalltalk_kind(segment: str, lexicon: Lexicon) -> str | None:
    groups = lexicon.smalltalk_groups
    for kind in ("thanks", "bye", "greeting"):
        if kind in groups and groups[kind].search(segment):
            return kind
    return None


def _segments(normalised: str) -> list[str]:
    return [part for part in _SEGMENT_BREAK.split(normalised) if part.strip()]


def find_smalltalk(text: str, lexicon: Lexicon | None) -> str | None:
    """``greeting``, ``thanks`` or ``bye`` if the message is that and little more.

    The lexicon's patterns describe one greeting or one thank-you; a chat message often strings
    several together ("ciao, buongiorno!", "valeu! obrigada", "danke & tschüss"), so each part
    is checked on its own: every part must be small talk, except short fillers ("alles klar").
    The kind is the last one said (a thank-you that ends with goodbye is a goodbye).
    """
    if lexicon is None:
        return None
    normalised = normalise(text)
    whole = _smalltalk_kind(normalised, lexicon)
    if whole:
        return whole
    kinds = []
    for segment in _segments(normalised):
        kind = _smalltalk_kind(segment, lexicon)
        if kind:
            kinds.append(kind)
        elif not _is_filler(segment):
            return None
    return kinds[-1] if kinds else None


def strip_smalltalk(text: str, lexicon: Lexicon | None) -> str:
    """``text`` without the greetings before and the thanks after the actual question.

    "Buongiorno, vorrei sapere come funziona il reso. Grazie" is matched against the FAQ as
    "vorrei sapere come funziona il reso": the politeness around a question carries no topic,
    and words the FAQ never uses would only dilute the match.
    """
    if lexicon is None:
        return text
    segments = _segments(normalise(text))
    while len(segments) > 1 and _smalltalk_kind(segments[0], lexicon):
        segments.pop(0)
    while len(segments) > 1 and _smalltalk_kind(segments[-1], lexicon):
        segments.pop()
    return " ".join(segments) if segments else text


def mentions_order_word(text: str, lexicon: Lexicon | None) -> bool:
    """Whether the message names an order at all ("order", "Bestellung", "订单")."""
    if lexicon is None:
        return False
    normalised = normalise(text)
    return any(word and word in normalised for word in lexicon.order_words)


def lexicon_intent(text: str, lexicon: Lexicon) -> str:
    """What the lexicon alone says: escalate, order_status, smalltalk or none (for KB tests)."""
    reasons = find_escalations(text, [lexicon])
    if reasons and not still_waiting(text, reasons, lexicon):
        return "escalate"
    if asks_order_status(text, lexicon):
        return "order_status"
    if find_smalltalk(text, lexicon):
        return "smalltalk"
    return "none"


class OtherShops:
    """Finds the names of other shops and marketplaces, from every lexicon at once (customers
    name Amazon or 京东 whatever language they write)."""

    def __init__(self, lexicons: Iterable[Lexicon]) -> None:
        names = sorted({name for lexicon in lexicons for name in lexicon.other_shops if name})
        spaced = [re.escape(n) for n in names if not CJK_CHAR.search(n)]
        unspaced = [re.escape(n) for n in names if CJK_CHAR.search(n)]
        parts = []
        if spaced:
            parts.append(r"(?<!\w)(?:" + "|".join(spaced) + r")(?!\w)")
        if unspaced:
            parts.append("(?:" + "|".join(unspaced) + ")")
        self._pattern = re.compile("|".join(parts)) if parts else None

    def find(self, text: str) -> str | None:
        """The first other shop ``text`` names, or None."""
        if self._pattern is None:
            return None
        match = self._pattern.search(normalise(text))
        return match.group(0) if match else None
