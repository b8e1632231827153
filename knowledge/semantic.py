"""Matching by meaning: nearest examples in a multilingual sentence encoder's space.

Every example the bot knows becomes a row of one matrix: the shop's FAQ entries (title,
questions, and the sentences of the answer) and the intent library (knowledge/library.py). A
message is encoded once and scored against every row with one matrix-vector product; a label
scores its best row. Labels are

- ``faq:<entry id>``: the shop's own entry, plus the library topic it answers, whose examples
  in every language the entry inherits (named with ``topic:`` in the KB, or linked at load when
  the entry is clearly about one topic);
- ``topic:<name>``: a library topic no entry answers: the customer asks a shop question this
  shop's FAQ does not cover, which must not be answered with the nearest entry;
- ``order_status``, ``escalate.<reason>``, ``smalltalk.<kind>``, ``out_of_scope``.

Answer sentences count a little less than questions (:data:`ANSWER_WEIGHT`): an answer says
much more than what customers ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.encoder import EmbeddingCache
from knowledge.kb import FaqEntry
from knowledge.library import TOPIC, IntentLibrary
from knowledge.long_words import cut_long_words

MESSAGE_CHARS = 500  # of a customer message, encoded (see SemanticIndex.encode)
ANSWER_WEIGHT = 0.85
TITLE_WEIGHT = 0.95
LINK_AT = 0.40  # an entry is linked to a topic whose examples it resembles this much ...
LINK_MARGIN = 0.05  # ... and more than any other topic by this much,
LINK_MARGIN_AGREED = 0.03  # or by this much when its answer is closest to the topic too;
ANSWER_DISAGREES = 0.05  # never when its answer is this much closer to another topic
SECOND_LINK_AT = 0.55  # a second topic: this close, and ...
SECOND_LINK_WITHIN = 0.10  # ... within this much of the first
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@dataclass(frozen=True)
class LabelScore:
    """A label and how close the message is to its nearest example (cosine, weighted)."""

    label: str
    score: float


@dataclass(frozen=True)
class TopicLink:
    """Which library topic an FAQ entry answers, and how that was decided."""

    entry_id: str
    topic: str
    source: str  # "named" (topic: in the KB), "id" (the entry's id is the topic), "inferred"
    score: float = 1.0


def answer_sentences(answer: str, limit: int = 6) -> list[str]:
    """The first ``limit`` sentences of an answer, each long enough to mean something."""
    parts = [part.strip() for part in _SENTENCE_END.split(answer.replace("\n", " "))]
    return [part for part in parts if len(part) >= 8][:limit]


class SemanticIndex:
    """Every example's vector, grouped by label, for nearest-example scoring."""

    def __init__(
        self,
        faq: Mapping[str, Mapping[str, FaqEntry]],
        library: IntentLibrary,
        cache: EmbeddingCache,
    ) -> None:
        self.encoder = cache.encoder
        entries = _entries_by_id(faq)
        rows: list[tuple[str, str, str, float]] = []  # label, language, text, weight
        for entry_id, versions in entries.items():
            for entry in versions:
                label = "faq:" + entry_id
                if entry.title:
                    rows.append((label, entry.language, entry.title, TITLE_WEIGHT))
                rows.extend((label, entry.language, q, 1.0) for q in entry.questions)
                rows.extend(
                    (label, entry.language, s, ANSWER_WEIGHT)
                    for s in answer_sentences(entry.answer)
                )
        # everything this index embeds, encoded (if the cache lacks it) and saved in one go
        cache.ensure(
            [row[2] for row in rows]
            + [text for label in library.labels() for _, text in library.sentences(label)]
        )
        self.links = self._link_topics(entries, library, cache, rows)
        own = {(row[0], row[2]) for row in rows}
        owner = {link.topic: "faq:" + link.entry_id for link in self.links}
        for label in library.labels():
            target = (
                owner.get(label.removeprefix(TOPIC), label) if label.startswith(TOPIC) else label
            )
            rows.extend((target, lang, text, 1.0) for lang, text in library.sentences(label))
        # one row per (label, text), the highest weight kept: the demo FAQ's questions are
        # both its entries' questions and its topics' seeds
        unique: dict[tuple[str, str], tuple[str, str, str, float]] = {}
        for row in rows:
            key = (row[0], row[2])
            if key not in unique or unique[key][3] < row[3]:
                unique[key] = row
        rows = sorted(unique.values(), key=lambda row: row[0])
        self.labels = sorted({row[0] for row in rows})
        number = {label: i for i, label in enumerate(self.labels)}
        self._number = number
        self._owner = np.asarray([number[row[0]] for row in rows], dtype=np.int64)
        self.row_languages = [row[1] for row in rows]
        self.row_texts = [row[2] for row in rows]
        self._row_labels = [row[0] for row in rows]
        self._row_inherited = [(row[0], row[2]) not in own for row in rows]  # from the library
        weights = np.asarray([row[3] for row in rows], dtype=np.float32)
        vectors = cache.vectors(self.row_texts) if rows else np.zeros((0, 1), np.float32)
        # weights folded into the rows: one matrix-vector product gives weighted cosines
        self._matrix = np.ascontiguousarray(vectors * weights[:, None], dtype=np.float32)
        self._starts = np.searchsorted(self._owner, np.arange(len(self.labels)))

    @property
    def size(self) -> int:
        return len(self.row_texts)

    def inherited_examples(self, language: str) -> Iterator[tuple[str, str]]:
        """(label, text) of every library example in ``language`` (not the seller's own)."""
        for label, lang, text, inherited in zip(
            self._row_labels, self.row_languages, self.row_texts, self._row_inherited, strict=True
        ):
            if inherited and lang == language:
                yield label, text

    def encode(self, text: str) -> np.ndarray:
        """The vector of a customer's message (see :meth:`encode_many`)."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of customers' messages, one row each, from their first
        :data:`MESSAGE_CHARS` characters, in one encoder call.

        One call for a batch: the encoder's cost is mostly per call (on this model a message
        alone took 2.3 ms, each of 32 together 0.3 ms). The cost also grows with the text (a
        4,096-character word took 77 ms, and every customer in the same batch waited for it);
        what a customer asks is said well within the first lines, so the rest is not encoded,
        and a run of letters longer than any word is cut (knowledge/long_words.py).
        """
        return self.encoder.encode([cut_long_words(text[:MESSAGE_CHARS]) for text in texts])

    def rank(
        self, vector: np.ndarray, limit: int | None = None, include: Iterable[str] = ()
    ) -> list[LabelScore]:
        """Labels by their best example's weighted cosine with ``vector``, best first: the
        ``limit`` best (all if None) and the ``include``d ones wherever they rank.

        Every language's examples count: measured on the held-out shops, comparing a message
        only with examples in its own language, English and the KB's languages was 1.5x faster
        and lost 2-3 points of accuracy, so it is not done.
        """
        return self.rank_many(vector[None, :], limit, [include])[0]

    def rank_many(
        self,
        vectors: np.ndarray,
        limit: int | None = None,
        includes: Sequence[Iterable[str]] = (),
    ) -> list[list[LabelScore]]:
        """:meth:`rank` for each row of ``vectors`` (``includes[i]`` for row i), with one
        matrix product: the examples' matrix is read once for the batch, not once a message."""
        if not self.labels:
            return [[] for _ in range(len(vectors))]
        best = np.maximum.reduceat(self._matrix @ vectors.T, self._starts, axis=0)
        return [
            self._ranked(best[:, column], limit, includes[column] if includes else ())
            for column in range(best.shape[1])
        ]

    def _ranked(
        self, best: np.ndarray, limit: int | None, include: Iterable[str]
    ) -> list[LabelScore]:
        if limit is None or limit >= len(best):
            chosen = np.argsort(-best)
        else:
            top = np.argpartition(-best, limit)[:limit]
            extra = [self._number[label] for label in include if label in self._number]
            chosen = np.unique(np.concatenate([top, np.asarray(extra, dtype=np.int64)]))
            chosen = chosen[np.argsort(-best[chosen])]
        return [LabelScore(self.labels[i], float(best[i])) for i in chosen]

    def nearest(self, vector: np.ndarray, limit: int = 5) -> list[tuple[str, str, float]]:
        """The ``limit`` nearest examples as (label, text, cosine): for explaining a decision."""
        cosines = self._matrix @ vector
        top = np.argsort(-cosines)[:limit]
        return [(self.labels[self._owner[i]], self.row_texts[i], float(cosines[i])) for i in top]

    @staticmethod
    def _link_topics(
        entries: Mapping[str, list[FaqEntry]],
        library: IntentLibrary,
        cache: EmbeddingCache,
        rows: list[tuple[str, str, str, float]],
    ) -> list[TopicLink]:
        """Each entry's topics: named in the KB, the entry's own id, or clearly inferred.

        An entry's title and questions decide the topic, its answer confirms it: a smaller
        lead suffices when the answer is closest to the same topic, and none when the answer
        is clearly about another. An inferred topic goes to the one entry closest to it, so
        two entries never share a topic's examples by guesswork.
        """
        links: list[TopicLink] = []
        taken: set[str] = set()
        unnamed = []
        for entry_id, versions in entries.items():
            named = [t for entry in versions for t in entry.topics if t in library.topics]
            if not named and entry_id in library.topics:
                links.append(TopicLink(entry_id, entry_id, "id"))
                taken.add(entry_id)
            elif named:
                for topic in dict.fromkeys(named):
                    links.append(TopicLink(entry_id, topic, "named"))
                    taken.add(topic)
            else:
                unnamed.append(entry_id)
        free = [t for t in library.topics if t not in taken]
        if not unnamed or not free:
            return links
        topic_vectors = {
            topic: cache.vectors([text for _, text in library.sentences(TOPIC + topic)])
            for topic in free
        }
        texts_of: dict[str, tuple[list[str], list[str]]] = {}  # label: (questions, answer)
        for label, _language, text, weight in rows:
            asked_, told_ = texts_of.setdefault(label, ([], []))
            if weight >= 0.9:
                asked_.append(text)
            elif weight == ANSWER_WEIGHT:
                told_.append(text)
        groups = [texts_of.get("faq:" + entry_id, ([], [])) for entry_id in unnamed]
        closeness = _closeness([g for pair in groups for g in pair], topic_vectors, cache)
        # rounds: a topic goes to the entry closest to it, and an entry that lost its topic
        # to a closer entry competes again among the topics still free (an FAQ with "returns"
        # and "when is it back in stock?" entries: the second was nearest to returns as well)
        linked: set[str] = set()
        first = True
        while True:
            proposals: list[tuple[float, str, str]] = []
            for number, entry_id in enumerate(unnamed):
                if entry_id not in linked:
                    asked, told = closeness[2 * number], closeness[2 * number + 1]
                    proposals += (
                        _proposed_links(entry_id, asked, told)
                        if first
                        else _runner_up_link(entry_id, asked, told, taken)
                    )
            first = False
            new = False
            for score, entry_id, topic in sorted(proposals, reverse=True):
                if topic not in taken:  # a topic goes to the entry closest to it
                    links.append(TopicLink(entry_id, topic, "inferred", score))
                    taken.add(topic)
                    linked.add(entry_id)
                    new = True
            if not new:
                break
        return links


def _proposed_links(
    entry_id: str, asked: Mapping[str, float], told: Mapping[str, float]
) -> list[tuple[float, str, str]]:
    """(score, entry, topic) for the topics an entry's questions are clearly about (``asked``:
    closeness to each free topic; ``told``: its answer's), none if unclear."""
    scored = sorted(((score, topic) for topic, score in asked.items()), reverse=True)
    if not scored:
        return []
    best, topic = scored[0]
    second = scored[1][0] if len(scored) > 1 else 0.0
    agrees = bool(told) and max(told, key=told.__getitem__) == topic
    disagrees = bool(told) and max(told.values()) - told[topic] >= ANSWER_DISAGREES
    margin = LINK_MARGIN_AGREED if agrees else LINK_MARGIN
    if best < LINK_AT or best - second < margin or disagrees:
        return []
    # an entry may answer a second topic as well ("change or cancel an order")
    return [(best, entry_id, topic)] + [
        (score, entry_id, other)
        for score, other in scored[1:3]
        if score >= SECOND_LINK_AT and score >= best - SECOND_LINK_WITHIN
    ]


def _runner_up_link(
    entry_id: str, asked: Mapping[str, float], told: Mapping[str, float], taken: set[str]
) -> list[tuple[float, str, str]]:
    """The link of an entry whose questions were as close to another topic, now answered by
    a closer entry: its best free topic, if that was a contender (within :data:`LINK_MARGIN`
    of its best topic) and its answer is closest to it once the taken contenders are set
    aside. An entry that is about no topic ("gift wrapping") stays unlinked: its answer
    is closer to some other topic."""
    if not asked:
        return []
    free = [(score, topic) for topic, score in asked.items() if topic not in taken]
    if not free:
        return []
    best, topic = max(free)
    top = max(asked.values())
    if best < LINK_AT or top - best >= LINK_MARGIN:
        return []
    rivals = {
        other for other, score in asked.items() if other in taken and score > top - LINK_MARGIN
    }
    answer = {other: score for other, score in told.items() if other not in rivals}
    if not answer or max(answer, key=answer.__getitem__) != topic:
        return []
    return [(best, entry_id, topic)]


def _closeness(
    groups: Sequence[Sequence[str]], topic_vectors: Mapping[str, np.ndarray], cache: EmbeddingCache
) -> list[dict[str, float]]:
    """How close each group of texts is to each topic: the mean over the group's texts of
    each text's nearest example of the topic ({} for an empty group). All groups in one
    encoder pass and a few matrix products, not one small product per entry and topic (a
    2,000-entry KB took 18 s that way)."""
    topics = [topic for topic, vectors in topic_vectors.items() if len(vectors)]
    texts = [text for group in groups for text in group]
    if not topics or not texts:
        return [{} for _ in groups]
    examples = np.concatenate([topic_vectors[topic] for topic in topics])
    bounds = np.cumsum([0] + [len(topic_vectors[topic]) for topic in topics[:-1]])
    vectors = cache.vectors(texts)
    nearest = np.empty((len(texts), len(topics)), dtype=np.float32)
    for start in range(0, len(texts), 512):  # 512 texts x every example at a time
        likeness = vectors[start : start + 512] @ examples.T
        nearest[start : start + 512] = np.maximum.reduceat(likeness, bounds, axis=1)
    out: list[dict[str, float]] = []
    start = 0
    for group in groups:
        if group:
            means = nearest[start : start + len(group)].mean(axis=0)
            out.append({topic: float(mean) for topic, mean in zip(topics, means, strict=True)})
        else:
            out.append({})
        start += len(group)
    return out


def _entries_by_id(faq: Mapping[str, Mapping[str, FaqEntry]]) -> dict[str, list[FaqEntry]]:
    by_id: dict[str, list[FaqEntry]] = {}
    for _language, entries in sorted(faq.items()):
        for entry in entries.values():
            by_id.setdefault(entry.id, []).append(entry)
    return by_id
