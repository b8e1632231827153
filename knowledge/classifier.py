"""What a customer message is: the customer pipeline's decision, free of side effects.

``handlers/customer.py`` acts on the decision (tickets, order lookups, logs); ``crossdesk
classify`` and ``crossdesk eval`` print it. Keeping the decision pure means the tooling measures
exactly what customers get, without opening tickets.

Order of precedence, from what costs most to get wrong:
1. a dispute or a request for a person (escalate),
2. a question about the customer's own order (order_status),
3. a confident FAQ match (faq),
4. an order number alone (order_status), then greetings and thanks (smalltalk),
5. a likely FAQ match (faq, offered as buttons together with the runner-up),
6. nothing fits (fallback: say so, offer a person; never an unrelated answer).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from knowledge.intents import (
    OtherShops,
    asks_order_status,
    find_escalations,
    find_smalltalk,
    mentions_order_word,
    still_waiting,
    strip_smalltalk,
)
from knowledge.kb import CJK_CHARS, KnowledgeBase, normalise
from knowledge.language import ADDRESSES, Detection, LanguageDetector, LanguageQuestion
from knowledge.library_words import LibraryWords, merged
from knowledge.long_words import cut_long_words
from knowledge.meaning import Meaning, overrules_dispute, read_meaning
from knowledge.order_ids import find_order_number, is_order_id_only
from knowledge.retrieval import Candidate, FaqIndex
from knowledge.semantic import SemanticIndex

_LATIN_LETTER = re.compile("[a-zA-Z]")
_WORDS = re.compile(rf"[^\W\d_]{{2,}}|[{CJK_CHARS}]")
MAX_CHARS = 4000  # longer messages are read up to here
LANGUAGE_CHARS = 1000  # the language is told from this much (detection costs per character)
ANSWER_AT = 0.42  # an FAQ match this good is answered outright
SUGGEST_AT = 0.27  # between SUGGEST_AT and ANSWER_AT the two best entries are offered
CLEAR_LEAD = 1.35  # ... unless the best leads the runner-up by this factor and clears SUGGEST
SMALLTALK_MAX_WORDS = 8
BARE_ORDER_WORDS = 6  # a message this short with a bare order-like number asks about it
ORDER_OVER_FAQ = 0.55  # with an order number in the message, an FAQ answer must be this good
SEMANTIC_ORDER_OVER_FAQ = 0.75  # the same for the semantic reading's fused score
RANKED_LABELS = 16  # labels ranked in full beyond those a decision always compares
LEXICAL_SURE = 0.60  # a lexical match this close to one of the FAQ's own questions ...
LEXICAL_SURE_LEAD = 0.15  # ... and this far ahead of the next is answered without the encoder


class Action(StrEnum):
    FAQ = "faq"
    ORDER_STATUS = "order_status"
    ESCALATE = "escalate"
    SMALLTALK = "smalltalk"
    FALLBACK = "fallback"


@dataclass(frozen=True)
class Classification:
    """The pipeline's decision about one message."""

    language: str
    language_source: str
    action: Action
    intent: str | None = None  # FAQ entry id, escalation reason or smalltalk kind
    confidence: float = 0.0
    order: str | None = None
    candidates: tuple[Candidate, ...] = field(default=())
    sure: bool = True  # False: offer candidates instead of answering
    truncated: bool = False


@dataclass(frozen=True)
class ClassifyRequest:
    """The arguments of one :meth:`Classifier.classify` call, so that calls can be made
    together (:meth:`Classifier.classify_many`)."""

    text: str
    previous_language: str | None = None
    language_hint: str | None = None
    explicit_language: str | None = None


@dataclass(frozen=True)
class _Reading:
    """A message read as far as the lexicons and the lexical index take it: what the sentence
    encoder's meaning is weighed with."""

    text: str
    question: str  # the text without greetings and thanks around it
    language: str
    source: str
    truncated: bool
    words: tuple[str, ...]  # the lexicons' words for "order"
    candidates: tuple[Candidate, ...]
    order: str | None
    smalltalk: str | None
    dispute: str | None = None  # the reason a lexicon found, which the encoder may overrule
    dispute_order: str | None = None  # the order number a dispute names (bare numbers too)

    def decided(self, action: Action, **values: Any) -> Classification:
        return Classification(
            self.language, self.source, action, truncated=self.truncated, **values
        )


class Classifier:
    """Language, then dispute, order, FAQ, small talk or fallback, for one message.

    Two kinds of evidence, each good at something the other is not: the lexicons' phrases are
    precise ("chargeback", "wo bleibt meine Bestellung"), the sentence encoder
    (:class:`SemanticIndex`) understands the customer's own words in any language it knows, and
    the lexical index (:class:`FaqIndex`) rewards the shop's exact vocabulary. A lexicon match
    decides at once; otherwise the nearest examples decide, with the lexical score added to each
    FAQ entry's.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        detector: LanguageDetector,
        index: FaqIndex,
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.kb = kb
        self.detector = detector
        self.index = index
        self.semantic = semantic
        self._english = kb.lexicons.get("en")
        self.encoder_languages = semantic.encoder.languages if semantic else frozenset()
        self._intent_labels = [
            label for label in (semantic.labels if semantic else []) if not label.startswith("faq:")
        ]
        self._other_shops = OtherShops(kb.lexicons.values())
        self._library_words = LibraryWords(semantic) if semantic is not None else None
        self._prepared = threading.local()  # see prepared()

    def classify(
        self,
        text: str,
        *,
        previous_language: str | None = None,
        language_hint: str | None = None,
        explicit_language: str | None = None,
    ) -> Classification:
        """Decide what ``text`` is; the language is ``explicit_language`` if given.

        Inside :meth:`prepared` a call with arguments prepared there is answered from the
        batch's results."""
        return self.classify_one(
            ClassifyRequest(text, previous_language, language_hint, explicit_language)
        )

    def classify_one(self, request: ClassifyRequest) -> Classification:
        """:meth:`classify` with its arguments in one value."""
        results: dict[ClassifyRequest, Classification] | None = getattr(
            self._prepared, "results", None
        )
        if results is not None and request in results:
            return results[request]
        return self.classify_many([request])[0]

    def classify_many(self, requests: Sequence[ClassifyRequest]) -> list[Classification]:
        """What each request's message is, exactly as :meth:`classify` decides it one by one.

        The messages the sentence encoder must read are encoded and ranked together, in one
        encoder call and one matrix product: per message that costs a fraction of a call of
        its own (measured in benchmarks/classify_speed.py)."""
        results: list[Classification | None] = []
        waiting: list[tuple[int, _Reading]] = []
        for request, detection in zip(requests, self._languages(requests), strict=True):
            outcome = self._read(request, detection)
            if isinstance(outcome, _Reading):
                waiting.append((len(results), outcome))
                results.append(None)
            else:
                results.append(outcome)
        if waiting:
            readings = [reading for _, reading in waiting]
            for (index, reading), meaning in zip(waiting, self._meanings(readings), strict=True):
                results[index] = self._decide(reading, meaning)
        return [result for result in results if result is not None]

    def prepared(self, requests: Sequence[ClassifyRequest]) -> AbstractContextManager[None]:
        """Classify ``requests`` together now (raising here if that fails); while the block
        it returns runs, :meth:`classify` calls with the same arguments (in this thread) get
        these results.

        The router knows a batch's messages before its handlers ask about each: this lets
        them ask one at a time and still be answered at the batch's cost. A call the batch did
        not foresee (other arguments) is classified on its own, as ever."""
        return self._answering(dict(zip(requests, self.classify_many(requests), strict=True)))

    @contextmanager
    def _answering(self, results: dict[ClassifyRequest, Classification]) -> Iterator[None]:
        outer = getattr(self._prepared, "results", None)
        self._prepared.results = results
        try:
            yield
        finally:
            self._prepared.results = outer

    def _languages(self, requests: Sequence[ClassifyRequest]) -> list[Detection]:
        """Each request's language: the explicit choice, else detected (all in one call)."""
        asked = [
            LanguageQuestion(
                cut_long_words(r.text[:LANGUAGE_CHARS]), r.previous_language, r.language_hint
            )
            for r in requests
            if not r.explicit_language
        ]
        detected = iter(self.detector.detect_many(asked))
        return [
            Detection(r.explicit_language, "explicit", 1.0)
            if r.explicit_language
            else next(detected)
            for r in requests
        ]

    def _read(self, request: ClassifyRequest, detection: Detection) -> Classification | _Reading:
        """As far as the lexicons and the lexical index decide: a decision, or the reading the
        sentence encoder's meaning completes (:meth:`_decide`)."""
        text = request.text
        truncated = len(text) > MAX_CHARS
        text = text[:MAX_CHARS]
        language = detection.language

        def decided(action: Action, **values: Any) -> Classification:
            return Classification(language, detection.source, action, truncated=truncated, **values)

        lexicon = self.kb.lexicons.get(language)
        # English phrases in another language's message ("refund", "chargeback") need letters
        # of the Latin alphabet: a message without any is spared the English patterns
        english = self._english if _LATIN_LETTER.search(text) else None
        lexicons = [lex for lex in (lexicon, english) if lex is not None]
        words = tuple(w for lex in lexicons for w in lex.order_words)
        reasons = find_escalations(text, lexicons)
        if reasons and still_waiting(text, reasons, lexicon):
            order = find_order_number(text, words, allow_bare=True)
            return decided(Action.ORDER_STATUS, confidence=1.0, order=order)
        dispute, dispute_order = None, None
        if reasons:
            # a dispute or a request for a person: a ticket, whatever else the message asks,
            # unless the encoder plainly reads no dispute in it (see overrules_dispute)
            dispute_order = find_order_number(text, words, allow_bare=True)
            if self.semantic is None or not _has_words(text):
                return decided(
                    Action.ESCALATE, intent=reasons[0], confidence=1.0, order=dispute_order
                )
            dispute = reasons[0]
        if not dispute and asks_order_status(text, lexicon):
            order = find_order_number(text, words, allow_bare=True)
            return decided(Action.ORDER_STATUS, confidence=1.0, order=order)
        question = strip_smalltalk(text, lexicon)
        candidates = self._lexical(question, language)
        order = find_order_number(
            text, words, allow_bare=mentions_order_word(text, lexicon) or is_order_id_only(text)
        )
        smalltalk = find_smalltalk(text, lexicon) or find_smalltalk(text, self._english)
        if smalltalk and len(normalise(text).split()) > SMALLTALK_MAX_WORDS:
            smalltalk = None
        best_lexical = candidates[0].score if candidates else 0.0
        lexical_lead = best_lexical - (candidates[1].score if len(candidates) > 1 else 0.0)
        if (
            best_lexical >= LEXICAL_SURE
            and lexical_lead >= LEXICAL_SURE_LEAD
            and not smalltalk
            and not order
            and not dispute
            and not self._other_shops.find(text)
        ):
            # the customer used the FAQ's own words: no need to ask the encoder
            return decided(
                Action.FAQ,
                intent=candidates[0].entry_id,
                confidence=best_lexical,
                candidates=candidates,
            )
        reading = _Reading(
            text=text,
            question=question,
            language=language,
            source=detection.source,
            truncated=truncated,
            words=words,
            candidates=candidates,
            order=order,
            smalltalk=smalltalk,
            dispute=dispute,
            dispute_order=dispute_order,
        )
        if self.semantic is not None and _has_words(text):
            return reading
        return self._decide_lexically(reading)

    def _decide(self, reading: _Reading, meaning: Meaning) -> Classification:
        """The decision once the sentence encoder's ``meaning`` joins the reading."""
        text, order, smalltalk, decided = (
            reading.text,
            reading.order,
            reading.smalltalk,
            reading.decided,
        )
        if reading.dispute is not None and meaning.kind == "escalate":
            return decided(
                Action.ESCALATE, intent=meaning.label, confidence=1.0, order=reading.dispute_order
            )
        if meaning.kind == "escalate" and not smalltalk:
            order = order or find_order_number(text, reading.words, allow_bare=True)
            return decided(
                Action.ESCALATE, intent=meaning.label, confidence=meaning.score, order=order
            )
        if meaning.kind == "order_status" and not smalltalk:
            return decided(Action.ORDER_STATUS, confidence=meaning.score, order=order)
        if meaning.kind == "smalltalk" and len(normalise(text).split()) <= SMALLTALK_MAX_WORDS:
            smalltalk = smalltalk or meaning.label
        if order and (meaning.kind != "faq" or meaning.score < SEMANTIC_ORDER_OVER_FAQ):
            return decided(Action.ORDER_STATUS, confidence=0.9, order=order)
        if meaning.kind == "faq" and not smalltalk and not self._other_shops.find(text):
            return decided(
                Action.FAQ,
                intent=meaning.label,
                confidence=meaning.score,
                candidates=meaning.candidates,
                sure=meaning.sure,
            )
        if meaning.kind in {"none", "order_status"} and _word_count(text) <= BARE_ORDER_WORDS:
            # "where's 10392 at", "gibts was neues zu 50431": a short message that means
            # nothing else and names a number of an order id's form asks about that order
            bare = find_order_number(text, reading.words, allow_bare=True)
            if bare:
                return decided(Action.ORDER_STATUS, confidence=0.8, order=bare)
        if smalltalk:
            return decided(Action.SMALLTALK, intent=smalltalk, confidence=0.9)
        return decided(
            Action.FALLBACK,
            intent=meaning.label if meaning.kind in {"topic", "out_of_scope"} else None,
            confidence=meaning.score,
            candidates=meaning.candidates if meaning.kind != "out_of_scope" else (),
        )

    def _decide_lexically(self, reading: _Reading) -> Classification:
        """The decision from the lexical index alone (no encoder, or no words to encode)."""
        candidates, order, decided = reading.candidates, reading.order, reading.decided
        best = candidates[0] if candidates else None
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if order and (best is None or best.score < ORDER_OVER_FAQ):
            # a customer who types an order number asks about that order, unless the message
            # is plainly one of the FAQ's questions ("how do I cancel order #10234?")
            return decided(Action.ORDER_STATUS, confidence=0.9, order=order)
        if best and self._other_shops.find(reading.text):
            # "does Otto deliver to Poland?": our policies are no answer to that
            candidates, best = (), None
        if best and (
            best.score >= ANSWER_AT
            or (best.score >= SUGGEST_AT and best.score >= runner_up * CLEAR_LEAD)
        ):
            return decided(
                Action.FAQ, intent=best.entry_id, confidence=best.score, candidates=candidates
            )
        if reading.smalltalk:
            return decided(Action.SMALLTALK, intent=reading.smalltalk, confidence=0.9)
        if best and best.score >= SUGGEST_AT:
            return decided(
                Action.FAQ,
                intent=best.entry_id,
                confidence=best.score,
                candidates=candidates,
                sure=False,
            )
        return decided(
            Action.FALLBACK, confidence=best.score if best else 0.0, candidates=candidates
        )

    def _lexical(self, question: str, language: str) -> tuple[Candidate, ...]:
        """The lexical index's best entries in ``language``, or in the default language."""
        candidates = tuple(self.index.search(question, language, limit=3))
        default = self.detector.default
        if language != default and (not candidates or candidates[0].score < ANSWER_AT):
            # the language may lack entries, or the customer writes another language than the
            # one they chose: the default language's examples get a say
            others = self.index.search(question, default, limit=3)
            if others and (not candidates or others[0].score > candidates[0].score):
                candidates = tuple(others)
        return candidates

    def _meanings(self, readings: Sequence[_Reading]) -> list[Meaning]:
        """What the nearest examples say of each reading's question, with each FAQ entry's
        lexical score added; one encoder call and one ranking for all of them."""
        assert self.semantic is not None
        vectors = self.semantic.encode_many([reading.question for reading in readings])
        # the best labels, and every label a decision compares: the lexical candidates and
        # each kind beyond the FAQ (a 2,000-entry KB has 2,000 labels; 40 decide)
        includes = [
            [*("faq:" + c.entry_id for c in reading.candidates), *self._intent_labels]
            for reading in readings
        ]
        ranked = self.semantic.rank_many(vectors, limit=RANKED_LABELS, includes=includes)
        assert self._library_words is not None
        return [
            Meaning("escalate", reading.dispute, 1.0)
            if reading.dispute is not None and not overrules_dispute(labels)
            else read_meaning(
                labels,
                merged(
                    reading.candidates,
                    self._library_words.search(reading.question, reading.language),
                ),
                words=_word_count(reading.question),
            )
            for labels, reading in zip(ranked, readings, strict=True)
        ]


def _word_count(text: str) -> int:
    """Words of letters (a CJK character counts as one), beside e-mail addresses and URLs."""
    return len(_WORDS.findall(ADDRESSES.sub(" ", text)))


def _has_words(text: str) -> bool:
    return bool(_WORDS.search(text))
