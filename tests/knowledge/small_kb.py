"""A small, valid knowledge base written to a folder, for tests that must not depend on the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge.kb import DEMO_KB

FAQ: dict[str, list[dict[str, Any]]] = {
    "en": [
        {
            "id": "shipping_time",
            "title": "Delivery times",
            "keywords": ["delivery time"],
            "questions": [
                "How long does delivery take?",
                "when will it arrive if I order today",
                "shipping time to canada",
            ],
            "answer": "Orders arrive in 5-9 business days. {shop_name}",
        },
        {
            "id": "returns_policy",
            "title": "Returns",
            "keywords": ["return"],
            "questions": ["How do I return an item?", "can i send it back", "return window?"],
            "answer": "You can return items within 30 days.",
        },
    ],
    "de": [
        {
            "id": "shipping_time",
            "title": "Lieferzeiten",
            "keywords": ["lieferzeit"],
            "questions": [
                "Wie lange dauert der Versand?",
                "wann kommt das paket an",
                "lieferzeit nach österreich",
            ],
            "answer": "Bestellungen kommen in 5-9 Werktagen an.",
        },
    ],
}
LEXICON: dict[str, dict[str, Any]] = {
    "en": {
        "escalate": {
            reason: [pattern]
            for reason, pattern in {
                "damaged": r"\bbroken\b",
                "wrong_item": r"wrong item",
                "not_received": r"never arrived",
                "refund_demand": r"money back",
                "chargeback": r"chargeback",
                "angry": r"\bscam\b",
                "human": r"real person",
            }.items()
        },
        "smalltalk": {
            "greeting": [r"^(hi|hello)\W*$"],
            "thanks": [r"^thanks?\W*$"],
            "bye": [r"^bye\W*$"],
        },
        "order_status": [r"where is my (order|parcel)"],
        "order_words": ["order"],
        "tests": [
            {"text": "it arrived broken", "expect": "escalate"},
            {"text": "where is my order?", "expect": "order_status"},
            {"text": "hello!", "expect": "smalltalk"},
            {"text": "how long is delivery", "expect": "none"},
        ],
    },
    "de": {
        "escalate": {
            reason: [pattern]
            for reason, pattern in {
                "damaged": r"kaputt",
                "wrong_item": r"falsche",
                "not_received": r"nie angekommen",
                "refund_demand": r"geld zurück",
                "chargeback": r"anwalt",
                "angry": r"betrug",
                "human": r"mitarbeiter",
            }.items()
        },
        "smalltalk": {
            "greeting": [r"^hallo\W*$"],
            "thanks": [r"^danke\W*$"],
            "bye": [r"^tschüss\W*$"],
        },
        "order_status": [r"wo ist meine bestellung"],
        "order_words": ["bestellung"],
        "tests": [{"text": "alles kaputt", "expect": "escalate"}],
    },
}


def write_small_kb(root: Path) -> Path:
    """Write the small KB (with the demo's English and German bot texts) under ``root``."""
    for folder in ("faq", "lexicon", "locales"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for language, entries in FAQ.items():
        dump(root / "faq" / f"{language}.yaml", {"locale": language, "entries": entries})
    for language, lexicon in LEXICON.items():
        dump(root / "lexicon" / f"{language}.yaml", {"locale": language, **lexicon})
    english = yaml.safe_load((DEMO_KB / "locales" / "en.yaml").read_text(encoding="utf-8"))
    dump(root / "locales" / "en.yaml", english)
    dump(root / "locales" / "de.yaml", {key: f"DE {value}" for key, value in english.items()})
    return root


def dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
