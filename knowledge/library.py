"""The built-in e-commerce intent library: what customers of any online shop ask and say.

Sellers write answers, not hundreds of example questions in ten languages. The library brings
that linguistic knowledge with the product, separate from any shop's answers:

- ``library/catalogue.yaml`` names every label and what it means: FAQ **topics** any shop may
  answer (``shipping_time``, ``returns_policy``, ``power_compatibility``...) and the **intents**
  beyond the FAQ (``order_status``, ``escalate.<reason>``, ``smalltalk.<kind>``,
  ``out_of_scope``);
- ``library/<lang>.yaml`` holds the team's example sentences per label and language;
- the demo shop's FAQ questions seed the topics of the same name (its 18 entries are written for
  exactly these topics, in ten languages).

A knowledge base may add its own examples in ``library/<lang>.yaml`` of its folder; they extend
the built-in ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.kb import SAFE_LOADER

LIBRARY_DIR = Path(__file__).parent / "library"
DEMO_FAQ_DIR = Path(__file__).parent / "faq"
TOPIC = "topic:"
ORDER_STATUS = "order_status"
OUT_OF_SCOPE = "out_of_scope"
ESCALATE = "escalate."
SMALLTALK = "smalltalk."


class LibraryError(Exception):
    """A library file is unusable; the message names the file and the problem."""


@dataclass
class IntentLibrary:
    """Labels, what they mean, and their example sentences by language."""

    topics: dict[str, str]  # topic -> description
    intents: dict[str, str]  # intent label -> description
    examples: dict[str, dict[str, list[str]]] = field(
        default_factory=dict
    )  # label -> lang -> texts

    def labels(self) -> list[str]:
        return [TOPIC + topic for topic in self.topics] + list(self.intents)

    def add(self, label: str, language: str, texts: list[str]) -> None:
        bucket = self.examples.setdefault(label, {}).setdefault(language, [])
        seen = set(bucket)
        for text in texts:
            if text not in seen:
                bucket.append(text)
                seen.add(text)

    def sentences(self, label: str) -> Iterator[tuple[str, str]]:
        """(language, sentence) for every example of ``label``."""
        for language, texts in sorted(self.examples.get(label, {}).items()):
            for text in texts:
                yield language, text

    @property
    def languages(self) -> list[str]:
        return sorted({lang for by_lang in self.examples.values() for lang in by_lang})


def _read(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise LibraryError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise LibraryError(f"{path}: must be a mapping with 'topics' and 'intents'")
    return data


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(item).strip() for item in value if item is not None and str(item).strip()]


def load_library(*extra_dirs: Path) -> IntentLibrary:
    """The built-in library, seeded with the demo FAQ, extended by ``extra_dirs``' files."""
    catalogue = _read(LIBRARY_DIR / "catalogue.yaml")
    library = IntentLibrary(
        topics={str(k): str(v) for k, v in (catalogue.get("topics") or {}).items()},
        intents={str(k): str(v) for k, v in (catalogue.get("intents") or {}).items()},
    )
    for folder in (LIBRARY_DIR, *extra_dirs):
        for path in sorted(folder.glob("*.yaml")):
            if path.name == "catalogue.yaml":
                continue
            _merge_file(library, path)
    _seed_from_demo_faq(library)
    return library


def _merge_file(library: IntentLibrary, path: Path) -> None:
    data = _read(path)
    language = str(data.get("locale") or path.stem)
    for topic, texts in (data.get("topics") or {}).items():
        if topic not in library.topics:
            raise LibraryError(
                f"{path}: topic {topic!r} is not in the catalogue; "
                f"known topics: {', '.join(library.topics)}"
            )
        library.add(TOPIC + topic, language, _texts(texts))
    for intent, texts in (data.get("intents") or {}).items():
        if intent not in library.intents:
            raise LibraryError(
                f"{path}: intent {intent!r} is not in the catalogue; "
                f"known intents: {', '.join(library.intents)}"
            )
        library.add(intent, language, _texts(texts))


def _seed_from_demo_faq(library: IntentLibrary) -> None:
    for path in sorted(DEMO_FAQ_DIR.glob("*.yaml")):
        data = _read(path)
        language = path.stem
        for raw in data.get("entries") or []:
            topic = str(raw.get("id", ""))
            if topic in library.topics:
                library.add(TOPIC + topic, language, _texts(raw.get("questions")))
