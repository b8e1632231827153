"""Order ids read out of customers' words, next to the order words of every language."""

from __future__ import annotations

import pytest

from knowledge.kb import load_knowledge_base
from knowledge.order_ids import MAX_ID_CHARS, find_order_number, is_order_id_only
from store.orders import ORDER_ID_MAX_CHARS, valid_order_id

KB = load_knowledge_base()
WORDS = {language: lexicon.order_words for language, lexicon in KB.lexicons.items()}


@pytest.mark.parametrize(
    ("language", "text", "order"),
    [
        ("de", "Wo ist meine Bestellung SZ-20001?", "SZ-20001"),
        ("de", "Bestellnummer: 302-1234567-1234567, wann kommt sie?", "302-1234567-1234567"),
        ("en", "where is my order #A1B2C3", "A1B2C3"),
        ("en", "order a1b2c3 please", "a1b2c3"),  # as typed: the store finds it in any case
        ("en", "What about order 2026/1234?", "2026/1234"),
        ("fr", "Où en est ma commande SZ-20001 ?", "SZ-20001"),
        ("es", "¿Dónde está mi pedido #A1B2C3?", "A1B2C3"),
        ("it", "Dov'è il mio ordine 302-1234567-1234567?", "302-1234567-1234567"),
        ("pt", "Cadê minha encomenda A1B2C3?", "A1B2C3"),
        ("ru", "Где мой заказ SZ-20001?", "SZ-20001"),
        ("ar", "وين طلبي رقم الطلب A1B2C3", "A1B2C3"),
        ("zh", "订单号#A1B2C3到哪了", "A1B2C3"),
        ("zh", "我的订单SZ-20001什么时候到", "SZ-20001"),
        ("ja", "注文番号：302-1234567-1234567 はいつ届きますか", "302-1234567-1234567"),
        ("en", "where is order 10234?", "10234"),
        ("en", "CD-10234 has not come", "CD-10234"),  # a prefixed id needs no order word
    ],
)
def test_ids_of_every_shape_next_to_the_order_words_of_every_language(
    language: str, text: str, order: str
) -> None:
    assert find_order_number(text, WORDS[language]) == order


@pytest.mark.parametrize(
    "text",
    [
        "I paid 49.99 for my order, where is it?",
        "I paid 1299 € for my order",
        "I paid €12999 for my order",
        "please call me on +49 170 1234567 about my order",
        "call me: 0170 1234567, it's about my order",
        "my postcode is 10115, where is my order?",
        "PLZ lautet 10115, wo ist meine Bestellung?",
        "mi código postal es 28013, ¿dónde está mi pedido?",
        "邮编100000，我的订单在哪",
        "I ordered on 2026/12/01, where is my order?",
        "my order from 2026-03-01 has not come",
        "Bestellung vom 12.03.2026, wo ist sie?",
        "order placed 01/12/2026",
        "the 5000mAh power bank I ordered",
        "where is my order? it was 3 weeks ago",
    ],
)
def test_prices_phone_numbers_postcodes_and_dates_are_no_order_ids(text: str) -> None:
    words = tuple(w for language in ("en", "de", "es", "zh") for w in WORDS[language])
    assert find_order_number(text, words, allow_bare=True) is None


def test_a_bare_number_counts_only_in_a_message_about_an_order() -> None:
    assert find_order_number("Do you ship to 10115 Berlin?", WORDS["en"]) is None
    assert find_order_number("where is it? 10234", WORDS["en"], allow_bare=True) == "10234"
    assert find_order_number("it is 2026/1234", WORDS["en"], allow_bare=True) == "2026/1234"
    assert find_order_number("it is B0C1234567", WORDS["en"], allow_bare=True) == "B0C1234567"
    assert find_order_number("it is 2026/1234", WORDS["en"]) is None


@pytest.mark.parametrize("text", ["SZ-20001", "#A1B2C3", "10234", "302-1234567-1234567", "a1b2c3?"])
def test_a_message_that_is_one_id(text: str) -> None:
    assert is_order_id_only(text)


@pytest.mark.parametrize("text", ["hello", "2026-03-01", "49.99", "#1", "ABCDEF", "SZ 20001"])
def test_a_message_that_is_no_id(text: str) -> None:
    assert not is_order_id_only(text)


@pytest.mark.parametrize("order", ["SZ-20001", "302-1234567-1234567", "A1B2C3", "2026/1234"])
def test_every_id_found_keeps_the_import_rules(order: str) -> None:
    """The finder's characters are the store's (``knowledge`` cannot import ``store``)."""
    assert MAX_ID_CHARS == ORDER_ID_MAX_CHARS
    found = find_order_number(f"order {order}", WORDS["en"])
    assert found == order and valid_order_id(found) == order
    for glued in (f"order {order}x!", f"order {order}-", f"order 1.{order}"):
        found = find_order_number(glued, WORDS["en"])
        assert found is None or valid_order_id(found) == found


def test_a_long_message_of_numbers_names_no_order() -> None:
    # what it costs is measured in benchmarks/long_word_wait.py ("numbers")
    text = " ".join(f"{n:05d}" for n in range(660))[:4000]  # 4,000 characters of tokens
    assert find_order_number(text, WORDS["en"], allow_bare=False) is None
