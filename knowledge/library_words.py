"""The library's examples as word evidence, in the customer's language.

A seller writes an FAQ in one language; the entries linked to a library topic inherit the
topic's examples in every language (knowledge/semantic.py). The sentence encoder reads those
examples by meaning, and misses what a shared word says plainly: a German customer writing
"Zoll" asks about customs, whatever the encoder makes of the rest. The lexical index
(knowledge/retrieval.py) sees such words, but only among the seller's own questions, in the
seller's language. :class:`LibraryWords` is the same index over the examples each entry
inherited (not the seller's own, which the lexical index has), one per customer language: its
best matches join the lexical candidates, at :data:`WEIGHT` of their score (the seller's own
words stay the stronger evidence).

Measured with ``crossdesk eval`` (docs/understanding.md): on a Chinese-only seller FAQ asked in
ten languages, FAQ questions matched 49 -> 53 of 57; 0.7 kept the demo shop's dev set where it
was, 1.0 cost it 0.4 points.

An index is built on the first message in its language (about a thousand examples; a process
meets few languages), under a lock, as the router's threads may ask at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from knowledge.kb import FaqEntry
from knowledge.retrieval import Candidate, FaqIndex
from knowledge.semantic import SemanticIndex

__all__ = ["WEIGHT", "LibraryWords", "merged"]

WEIGHT = 0.7  # of a library match's score, as a lexical candidate's


class LibraryWords:
    """Lexical matching of a message against the examples each FAQ entry answers, by
    language (the entry's own questions and those of the library topics linked to it)."""

    def __init__(self, semantic: SemanticIndex) -> None:
        self._semantic = semantic
        self._indexes: dict[str, FaqIndex | None] = {}
        self._lock = threading.Lock()

    def search(self, text: str, language: str, limit: int = 3) -> list[Candidate]:
        """The ``limit`` entries whose examples in ``language`` share most of ``text``'s words,
        scored at :data:`WEIGHT` of the lexical index's score."""
        index = self._index(language)
        if index is None:
            return []
        return [
            Candidate(found.entry_id, WEIGHT * found.score)
            for found in index.search(text, language, limit)
        ]

    def _index(self, language: str) -> FaqIndex | None:
        with self._lock:
            if language not in self._indexes:
                self._indexes[language] = self._build(language)
            return self._indexes[language]

    def _build(self, language: str) -> FaqIndex | None:
        by_entry: dict[str, list[str]] = {}
        for label, text in self._semantic.inherited_examples(language):
            if label.startswith("faq:"):
                by_entry.setdefault(label[4:], []).append(text)
        if not by_entry:
            return None
        entries = {
            entry_id: FaqEntry(
                id=entry_id, language=language, title="", answer="", questions=tuple(texts)
            )
            for entry_id, texts in by_entry.items()
        }
        return FaqIndex({language: entries})


def merged(own: Sequence[Candidate], inherited: Sequence[Candidate]) -> tuple[Candidate, ...]:
    """Each entry's better score of the two, best first."""
    scores = {c.entry_id: c.score for c in own}
    for candidate in inherited:
        scores[candidate.entry_id] = max(scores.get(candidate.entry_id, 0.0), candidate.score)
    ordered = sorted(scores.items(), key=lambda pair: -pair[1])
    return tuple(Candidate(entry_id, score) for entry_id, score in ordered)
