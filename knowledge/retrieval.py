"""Matching a customer message against the FAQ entries of its language.

Every example question, title and keyword becomes a TF-IDF vector over two kinds of features:
whole words (precise) and character n-grams inside words (robust to typos, missing accents and
inflection: "versandkosten" shares most 3-grams with "Versandkosten?" and "versandkostenfrei").
Chinese and Japanese have no spaces, so they get character unigrams and bigrams instead. A
message is scored against every example at once with one ``numpy.bincount`` over the inverted
index, so a 2,000-entry knowledge base costs about as much as an 18-entry one; an entry scores
its best example, plus a share of its centroid (all its examples at once), which rewards
messages that touch several of the entry's words. rapidfuzz then re-scores the best few entries
against their examples' surface form, which settles near ties between related entries.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from knowledge.kb import CJK_CHAR, CJK_CHARS, FaqEntry
from knowledge.long_words import LONGEST_WORD

_CJK_LANGUAGES = {"zh", "ja"}
_CJK_RUNS = re.compile(f"[{CJK_CHARS}]+|[^{CJK_CHARS}]+")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي", "ـ": None}
)
WORD_WEIGHT = 1.6
CENTROID_SHARE = 0.35
FUZZ_SHARE = 0.2
RERANK = 4
UNKNOWN_WEIGHT = 1.5  # how much words the FAQ never uses dilute a message's match


def fold(text: str) -> str:
    """Lower case, accents and Arabic letter variants folded, ё -> е, harakat dropped."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е").translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", kept)


def features(text: str, language: str) -> Counter[str]:
    """The bag of features of ``text``: words and in-word character n-grams (or CJK bigrams)."""
    bag: Counter[str] = Counter()
    for token in _TOKEN.findall(fold(text)):
        if token.isdigit():
            continue
        if CJK_CHAR.search(token):
            for run in _CJK_RUNS.findall(token):
                if CJK_CHAR.match(run):
                    bag.update("u:" + ch for ch in run)
                    bag.update("b:" + run[i : i + 2] for i in range(len(run) - 1))
                else:
                    bag.update(_word_features(run))
            continue
        bag.update(_word_features(token))
    return bag


def _word_features(token: str) -> list[str]:
    token = token[:LONGEST_WORD]  # a longer run is no word (knowledge/long_words.py)
    out = ["w:" + token]
    padded = f" {token} "
    if len(token) > 2:
        for size in (3, 4):
            out.extend("c:" + padded[i : i + size] for i in range(len(padded) - size + 1))
    return out


@dataclass(frozen=True)
class Candidate:
    """An FAQ entry and how well the message matches it (0..1)."""

    entry_id: str
    score: float


class _LanguageIndex:
    """The inverted index of one language's examples."""

    def __init__(self, entries: Iterable[FaqEntry], language: str) -> None:
        self.language = language
        docs: list[Counter[str]] = []
        owners: list[int] = []
        self.entry_ids: list[str] = []
        self.surfaces: list[list[str]] = []
        centroids: list[Counter[str]] = []
        for number, entry in enumerate(sorted(entries, key=lambda e: e.id)):
            self.entry_ids.append(entry.id)
            examples = [entry.title, *entry.questions, *entry.keywords]
            self.surfaces.append([fold(example) for example in entry.questions])
            centroid: Counter[str] = Counter()
            for example in examples:
                bag = features(example, language)
                if bag:
                    docs.append(bag)
                    owners.append(number)
                    centroid.update(bag)
            centroids.append(centroid)
        self.doc_count = len(docs)
        self.owners = np.asarray(owners, dtype=np.int64)
        # reduceat needs the start of each entry's run of documents
        self.starts = np.searchsorted(self.owners, np.arange(len(self.entry_ids)))
        frequency: Counter[str] = Counter()
        for bag in docs:
            frequency.update(bag.keys())
        total = len(docs) + 1
        self.idf = {f: math.log(total / (df + 1)) + 1.0 for f, df in frequency.items()}
        self.unknown_idf = (math.log(total) + 1.0) * UNKNOWN_WEIGHT
        # examples and centroids in one index: rows below doc_count are examples, the rest
        # one centroid per entry, so one pass over the query's features scores both
        self.postings = self._invert(docs + centroids)

    def _weights(self, bag: Mapping[str, int], *, query: bool = False) -> dict[str, float]:
        """Unit-length TF-IDF weights of ``bag``.

        For a query, a feature the knowledge base never uses still counts towards the length,
        as the rarest feature there is: "weather in London this weekend" shares only "in" and
        "this" with the FAQ, and must not look like a perfect match for them.
        """
        weights = {}
        unknown = 0.0
        for feature, count in bag.items():
            boost = WORD_WEIGHT if feature[0] == "w" else 1.0
            idf = self.idf.get(feature)
            if idf is None:
                if query:
                    unknown += ((1.0 + math.log(count)) * self.unknown_idf * boost) ** 2
                continue
            weights[feature] = (1.0 + math.log(count)) * idf * boost
        norm = math.sqrt(sum(value * value for value in weights.values()) + unknown) or 1.0
        return {feature: value / norm for feature, value in weights.items()}

    def _invert(self, docs: list[Counter[str]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        columns: dict[str, tuple[list[int], list[float]]] = {}
        for number, bag in enumerate(docs):
            for feature, weight in self._weights(bag).items():
                rows, values = columns.setdefault(feature, ([], []))
                rows.append(number)
                values.append(weight)
        return {
            feature: (np.asarray(rows, dtype=np.int64), np.asarray(values, dtype=np.float64))
            for feature, (rows, values) in columns.items()
        }

    def _cosines(self, query: dict[str, float]) -> np.ndarray:
        """The cosine of ``query`` with every example, then every centroid."""
        rows, values, weights, lengths = [], [], [], []
        for feature, weight in query.items():
            posting = self.postings.get(feature)
            if posting is not None:
                rows.append(posting[0])
                values.append(posting[1])
                weights.append(weight)
                lengths.append(len(posting[0]))
        size = self.doc_count + len(self.entry_ids)
        if not rows:
            return np.zeros(size)
        scaled = np.concatenate(values) * np.repeat(weights, lengths)
        return np.bincount(np.concatenate(rows), scaled, minlength=size)

    def search(self, text: str, limit: int) -> list[Candidate]:
        if not self.entry_ids:
            return []
        query = self._weights(features(text, self.language), query=True)
        if not query:
            return []
        cosines = self._cosines(query)
        best = np.maximum.reduceat(cosines[: self.doc_count], self.starts)
        centroid = cosines[self.doc_count :]
        scores = (1 - CENTROID_SHARE) * best + CENTROID_SHARE * centroid
        top = np.argsort(-scores)[: max(limit, RERANK)]
        folded = fold(text)
        rescored = []
        for number in top:
            score = float(scores[number])
            if score <= 0:
                continue
            match = process.extractOne(folded, self.surfaces[number], scorer=fuzz.token_set_ratio)
            similarity = match[1] / 100 if match else 0.0
            # a multiplier in [1 - FUZZ_SHARE, 1 + FUZZ_SHARE]: surface likeness breaks near ties
            factor = 1 - FUZZ_SHARE + 2 * FUZZ_SHARE * similarity
            rescored.append((score * factor, self.entry_ids[number]))
        rescored.sort(reverse=True)
        return [Candidate(entry_id, min(1.0, score)) for score, entry_id in rescored[:limit]]


class FaqIndex:
    """Matches messages against the FAQ, one index per language."""

    def __init__(self, faq: Mapping[str, Mapping[str, FaqEntry]]) -> None:
        self._indexes = {
            lang: _LanguageIndex(entries.values(), lang) for lang, entries in faq.items()
        }

    @property
    def languages(self) -> list[str]:
        return sorted(self._indexes)

    def search(self, text: str, language: str, limit: int = 3) -> list[Candidate]:
        """The best ``limit`` entries for ``text`` among ``language``'s examples, best first."""
        index = self._indexes.get(language)
        return index.search(text, limit) if index else []
