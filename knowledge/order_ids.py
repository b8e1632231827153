"""Order ids in a customer's own words: "Wo ist meine Bestellung SZ-20001?", "订单号#A1B2C3".

A shop's order ids are its own (``store.orders.ORDER_ID_RULES``: letters, digits, ``-``, ``/``,
``_``, at least one digit): ``10234``, ``SZ-20001``, Amazon's ``302-1234567-1234567``,
Shopify-like ``#A1B2C3``, ``2026/1234``. This module reads them out of free text. It sees every
token of that shape and takes one when something says it is an order id:

- its own form: a letter prefix and a hyphen (``SZ-20001``) or Amazon's 3-7-7 digits;
- a mark before it: ``#``, ``No.``, ``Nr.``, ``№``, a CJK order word (``订单号``, ``注文番号``),
  or one of the lexicons' order words ("Bestellung", "pedido", "заказ", "رقم الطلب");
- with ``allow_bare`` (the message is about an order), a bare 5-10 digit number, a number with
  a slash (``2026/1234``) or letters with at least three digits (``B0C1234567``).

What only looks like one is never taken: dates (``2026-03-01``, ``01/12/2026``), prices
(``49.99``, ``1299 €``), quantities (``5000mAh``), phone numbers (``+49 170 1234567``) and a
number after a postcode word ("PLZ 10115"). Matching runs on the normalised text (one lower
case form); the id is returned as the customer spelled it, without ``#``: the store finds it in
any case (``store.orders.get_order``). ``knowledge`` imports nothing of ours, so the id's
characters are spelled here again; ``tests/knowledge/test_order_ids.py`` holds the two to one
another.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from knowledge.kb import normalise

MAX_ID_CHARS = 40  # the orders.id column (store.orders.ORDER_ID_MAX_CHARS)
# a token of an order id's characters, not glued to more of them, nor to a decimal point or a
# "+" of a phone number; the lookarounds are ASCII so that "订单号10234" still has its token
_CANDIDATE = re.compile(
    r"(?<![a-z0-9_/#+\-])(?<!\d[.,])(#?)([a-z0-9](?:[a-z0-9/_\-]*[a-z0-9])?)(?![a-z0-9_/\-])(?![.,]\d)"
)
_AMAZON = re.compile(r"\d{3}-\d{7}-\d{7}")
_PREFIXED = re.compile(r"[a-z]{2,5}-\d{4,}(?:[-/_][a-z0-9]+)*")
_DATE = re.compile(
    r"\d{4}[-/]\d{1,2}(?:[-/]\d{1,2})?|\d{1,2}[-/]\d{1,2}(?:[-/]\d{2,4})?|\d{1,2}[-/]\d{4}"
)
_QUANTITY = re.compile(r"\d+[a-z]{1,4}")  # 5000mah, 50ml, 2pcs, 10kg
_BARE_DIGITS = re.compile(r"\d{5,10}")
_SLASHED = re.compile(r"\d+(?:/\d+)+")
# marks right before an id; the multilingual words of the old patterns ("No.", "订单号", "№")
_MARK_BEFORE = re.compile(
    r"(?:\bno\.?|\bnr\.?|\bn[º°o]\.?|№|订单号?|訂單號?|单号|單號|注文番号?|注文|オーダー|番号)"
    r"\s*[:：#]?\s*$"
)
_WORD_GAP = r"[\s:：#№.\-]*(?:(?:number|nummer|numéro|número|numero|номер|رقم)\s*)?[\s:：#№.\-]*$"
# a number right after one of these (and at most two short words: "PLZ lautet") is a postcode
_POSTCODE_BEFORE = re.compile(
    r"(?:\bplz|postleitzahl|\bpost ?code|\bzip(?: ?code)?|code postal|\bcp|\bcap|c[oó]digo postal"
    r"|\bcep|индекс|邮编|郵便番号|الرمز البريدي)(?:\W+\w{1,6}){0,2}\W*$"
)
_MONEY_BEFORE = re.compile(r"[€$£¥₽]\s?$")
_MONEY_AFTER = re.compile(r"^\s?(?:[€$£¥₽元円]|(?:eur|euro|usd|gbp|rub|руб|yen|dollar)s?\b)")
_DIGIT_GROUP_BEFORE = re.compile(r"\d[ ]$")  # "170 1234567": a phone number in groups
_DIGIT_GROUP_AFTER = re.compile(r"^[ ]\d")
CONTEXT_CHARS = 48  # what the marks are looked for in, before and after a token


def _digits(token: str) -> int:
    return sum(ch.isdigit() for ch in token)


def _plausible(token: str) -> bool:
    """Whether ``token`` may be an order id at all: a digit, not too long, not a date."""
    return (
        len(token) <= MAX_ID_CHARS
        and _digits(token) >= 3
        and len(token) >= 4
        and not _DATE.fullmatch(token)
        and not _QUANTITY.fullmatch(token)
    )


def _own_form(token: str) -> bool:
    return bool(_AMAZON.fullmatch(token) or _PREFIXED.fullmatch(token))


def _bare_form(token: str) -> bool:
    if token.isdigit():
        return bool(_BARE_DIGITS.fullmatch(token))
    if _SLASHED.fullmatch(token):
        return _digits(token) >= 5
    has_letter = any(ch.isalpha() for ch in token)
    return has_letter and len(token) >= 5 and token[0].isalpha()


@lru_cache(maxsize=64)
def _order_word_before(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern: one of ``words`` (normalised), then the gap before a number."""
    alternatives = sorted({re.escape(word) for word in words if word}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(alternatives) + ")" + _WORD_GAP)


def _spelled(normalised: str, plain: str, start: int, end: int) -> str:
    """The customer's own spelling of ``normalised[start:end]`` (it is lower case)."""
    if len(plain) == len(normalised) and plain[start:end].lower() == normalised[start:end]:
        return plain[start:end]
    return normalised[start:end]


def find_order_number(
    text: str, order_words: Iterable[str] = (), *, allow_bare: bool = False
) -> str | None:
    """The order id in ``text`` as the customer wrote it (without ``#``), or None.

    Marked ids and ids of their own form are always taken; bare ones only with ``allow_bare``,
    because postcodes and phone numbers look the same.
    """
    normalised = normalise(text)
    plain = " ".join(unicodedata.normalize("NFKC", text).split())
    words = _order_word_before(tuple(order_words))
    bare: tuple[int, int] | None = None
    for match in _CANDIDATE.finditer(normalised):
        token = match.group(2)
        # the few characters around the token: a 4,000-character message of numbers costs a
        # few short searches per token, not a search of the whole message each
        before = normalised[max(0, match.start() - CONTEXT_CHARS) : match.start()]
        after = normalised[match.end() : match.end() + CONTEXT_CHARS]
        if (
            not _plausible(token)
            or _MONEY_BEFORE.search(before)
            or _MONEY_AFTER.match(after)
            or _POSTCODE_BEFORE.search(before)
        ):
            continue
        marked = bool(
            match.group(1) or _MARK_BEFORE.search(before) or (words and words.search(before))
        )
        if marked or _own_form(token):
            return _spelled(normalised, plain, match.start(2), match.end(2))
        phone = _DIGIT_GROUP_BEFORE.search(before) or _DIGIT_GROUP_AFTER.match(after)
        if bare is None and allow_bare and _bare_form(token) and not phone:
            bare = (match.start(2), match.end(2))
    return _spelled(normalised, plain, *bare) if bare else None


def is_order_id_only(text: str) -> bool:
    """Whether the whole message is one order id ("SZ-20001", "#A1B2C3", "10234")."""
    stripped = normalise(text).rstrip(".!?").lstrip("#№").strip()
    return bool(_CANDIDATE.fullmatch(stripped) and _plausible(stripped) and not stripped.isalpha())
