"""Reading the nearest examples: from label scores to one decision.

:class:`knowledge.semantic.SemanticIndex` ranks every label by its nearest example. This module
turns that ranking into what the customer gets, with thresholds measured on labelled sets
(``crossdesk eval``; the figures are in docs/understanding.md):

- each FAQ entry's score is its semantic score plus a share of its lexical score (the shop's
  exact words are strong evidence the encoder underrates);
- a label beyond the FAQ (a dispute, an order question, small talk, out of scope, a shop topic
  this FAQ does not answer) wins when it is closer than every entry and close enough;
- an entry is answered when it is close and clearly ahead of the next entry, offered with the
  runner-up when it is only likely, and nothing is answered when nothing is close.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.library import ESCALATE, ORDER_STATUS, OUT_OF_SCOPE, SMALLTALK, TOPIC
from knowledge.retrieval import Candidate
from knowledge.semantic import LabelScore

LEXICAL_SHARE = 0.35  # how much of the lexical index's score adds to an entry's
ANSWER_AT = 0.60  # an entry this close (fused) is answered ...
ANSWER_LEAD = 0.04  # ... when it leads the next entry by this much
SUGGEST_AT = 0.50  # closer than this: the two best entries are offered
SUGGEST_LOW = 0.40  # ... and from this close when nothing else is near: an entry that leads
SUGGEST_LOW_LEAD = 0.06  # the next by this much, every other kind of label, and out of
SUGGEST_LOW_CLEAR = 0.15  # scope by this much (a language with few examples scores lower),
SUGGEST_LOW_WORDS = 3  # in a message of this many words at least (beside e-mails and URLs)
ESCALATE_AT = 0.40  # a dispute example this close, and closer than any entry
ESCALATE_LOW = 0.33  # ... or this close and clearly ahead of every other kind of label
DISPUTE_OVER_SCOPE = 0.02  # a dispute this close behind out of scope still wins: a missed
# dispute costs a customer far more than an off-topic message a person reads
ORDER_STATUS_AT = 0.50
SMALLTALK_AT = 0.55
SMALLTALK_LOW = 0.42
KIND_LEAD = 0.03
OUT_OF_SCOPE_NEAR = 0.03  # an unsure entry this close to out of scope is not offered
OUT_OF_SCOPE_LEAD = 0.0  # out of scope wins when at least this much closer than any entry
TOPIC_LEAD = 0.10  # a shop topic this FAQ does not answer wins by this much (an entry may
# answer more than the topic it was linked to)
# A dispute phrase found by a lexicon is overruled only when the nearest examples are plainly
# of another kind ("tell me a joke about lawyers", "are you a real person or a bot?"): out of
# scope or the question whether this is a bot, this close and this far ahead of every dispute.
OVERRULE_AT = 0.70
OVERRULE_LEAD = 0.15
OVERRULING = (OUT_OF_SCOPE, SMALLTALK + "bot_question")


@dataclass(frozen=True)
class Meaning:
    """The semantic reading of one message."""

    kind: str  # faq | escalate | order_status | smalltalk | out_of_scope | topic | none
    label: str | None = None  # entry id, escalation reason, smalltalk kind, topic
    score: float = 0.0
    sure: bool = True
    candidates: tuple[Candidate, ...] = field(default=())


def read_meaning(
    ranked: list[LabelScore], lexical: tuple[Candidate, ...], *, words: int
) -> Meaning:
    """The decision the label ranking and the lexical candidates support, for a message of
    ``words`` words (a short one says too little for a modest score to mean much)."""
    lexical_scores = {c.entry_id: c.score for c in lexical}
    entries: dict[str, float] = {}
    best_other: LabelScore | None = None
    for item in ranked:
        if item.label.startswith("faq:"):
            entry_id = item.label[4:]
            entries[entry_id] = item.score + LEXICAL_SHARE * lexical_scores.get(entry_id, 0.0)
        elif best_other is None:
            best_other = item
    for entry_id, score in lexical_scores.items():
        entries.setdefault(entry_id, LEXICAL_SHARE * score)
    ordered = sorted(entries.items(), key=lambda pair: -pair[1])
    candidates = tuple(Candidate(entry_id, min(1.0, score)) for entry_id, score in ordered[:3])
    best_entry = ordered[0][1] if ordered else 0.0
    runner_up = ordered[1][1] if len(ordered) > 1 else 0.0
    passed_over = {"faq"}  # kinds a winner's lead is not measured against
    if best_other is not None and best_other.label == OUT_OF_SCOPE:
        dispute = next((item for item in ranked if item.label.startswith(ESCALATE)), None)
        if (
            dispute is not None
            and dispute.score > best_entry
            and dispute.score >= best_other.score - DISPUTE_OVER_SCOPE
        ):
            best_other = dispute
            passed_over.add(OUT_OF_SCOPE)
    if best_other is not None and best_other.score > best_entry:
        label, score = best_other.label, best_other.score
        # how far the winner leads the best label of another kind: a clear lead makes a
        # modest score trustworthy (a language with few library examples scores lower)
        lead = score - max(best_entry, _best_of_other_kind(ranked, label, passed_over))
        if label.startswith(ESCALATE) and (
            score >= ESCALATE_AT or (score >= ESCALATE_LOW and lead >= KIND_LEAD)
        ):
            return Meaning("escalate", label[len(ESCALATE) :], score, candidates=candidates)
        if label == ORDER_STATUS and score >= ORDER_STATUS_AT:
            return Meaning("order_status", None, score, candidates=candidates)
        if label.startswith(SMALLTALK) and (
            score >= SMALLTALK_AT or (score >= SMALLTALK_LOW and lead >= KIND_LEAD)
        ):
            return Meaning("smalltalk", label[len(SMALLTALK) :], score, candidates=candidates)
        if label == OUT_OF_SCOPE and score >= best_entry + OUT_OF_SCOPE_LEAD:
            return Meaning("out_of_scope", OUT_OF_SCOPE, score, candidates=())
        if label.startswith(TOPIC) and score >= best_entry + TOPIC_LEAD:
            return Meaning("topic", label[len(TOPIC) :], score, candidates=candidates)
    if ordered and best_entry >= ANSWER_AT and best_entry - runner_up >= ANSWER_LEAD:
        return Meaning("faq", ordered[0][0], best_entry, candidates=candidates)
    out_of_scope = next((item.score for item in ranked if item.label == OUT_OF_SCOPE), 0.0)
    if ordered and best_entry >= SUGGEST_AT and out_of_scope < best_entry - OUT_OF_SCOPE_NEAR:
        # only likely, and not plainly off-topic: the two best entries are offered
        return Meaning("faq", ordered[0][0], best_entry, sure=False, candidates=candidates)
    if ordered and best_entry >= SUGGEST_AT:
        return Meaning("out_of_scope", OUT_OF_SCOPE, out_of_scope, candidates=())
    if (
        ordered
        and best_entry >= SUGGEST_LOW
        and words >= SUGGEST_LOW_WORDS
        and best_entry - runner_up >= SUGGEST_LOW_LEAD
        and out_of_scope <= best_entry - SUGGEST_LOW_CLEAR
        and (best_other is None or best_other.score < best_entry)
    ):
        return Meaning("faq", ordered[0][0], best_entry, sure=False, candidates=candidates)
    return Meaning("none", None, best_entry, candidates=candidates)


def overrules_dispute(ranked: list[LabelScore]) -> bool:
    """True when the ranking plainly says a message a lexicon took for a dispute is none.

    The lexicons' phrases are precise, but a word is not a sentence: "lawyer" in a joke, "real
    person" in "are you a real person?". Only an overruling label (:data:`OVERRULING`) at the
    top, at least :data:`OVERRULE_AT` close and :data:`OVERRULE_LEAD` ahead of the nearest
    dispute example, overrules; "my lawyer will hear about this" stays a dispute."""
    best = next((item for item in ranked if not item.label.startswith("faq:")), None)
    if best is None or best.label not in OVERRULING or best.score < OVERRULE_AT:
        return False
    dispute = max((item.score for item in ranked if item.label.startswith(ESCALATE)), default=0.0)
    return best.score - dispute >= OVERRULE_LEAD


def _kind(label: str) -> str:
    return label.split(".", 1)[0].split(":", 1)[0]


def _best_of_other_kind(ranked: list[LabelScore], label: str, excluded: set[str]) -> float:
    """The best score among labels of another kind than ``label``, ``excluded`` kinds left
    out (FAQ entries always)."""
    left_out = {_kind(label), *excluded}
    return next((item.score for item in ranked if _kind(item.label) not in left_out), 0.0)
