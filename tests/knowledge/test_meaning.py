"""From label scores to a decision (knowledge/meaning.py), on scores written out by hand."""

from __future__ import annotations

from knowledge.meaning import SUGGEST_AT, SUGGEST_LOW, read_meaning
from knowledge.retrieval import Candidate
from knowledge.semantic import LabelScore


def _ranked(scores: dict[str, float]) -> list[LabelScore]:
    """The labels best first, as SemanticIndex.rank gives them."""
    return sorted((LabelScore(k, v) for k, v in scores.items()), key=lambda x: -x.score)


def test_an_entry_alone_in_its_neighbourhood_is_offered_though_not_close() -> None:
    meaning = read_meaning(
        _ranked(
            {"faq:plugs": 0.46, "faq:returns": 0.35, "out_of_scope": 0.22, "escalate.damaged": 0.3}
        ),
        (),
        words=5,
    )
    assert SUGGEST_LOW <= meaning.score < SUGGEST_AT
    assert (meaning.kind, meaning.label, meaning.sure) == ("faq", "plugs", False)
    assert [c.entry_id for c in meaning.candidates] == ["plugs", "returns"]


def test_a_weak_entry_is_not_offered_when_out_of_scope_is_near() -> None:
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.46, "faq:returns": 0.35, "out_of_scope": 0.40}), (), words=5
    )
    assert meaning.kind != "faq"


def test_a_weak_entry_is_not_offered_when_another_kind_is_closer() -> None:
    ranked = _ranked(
        {
            "topic:shipping_countries": 0.48,
            "faq:plugs": 0.46,
            "faq:returns": 0.35,
            "out_of_scope": 0.2,
        }
    )
    assert read_meaning(ranked, (), words=5).kind != "faq"


def test_a_weak_entry_is_not_offered_when_the_next_is_as_near() -> None:
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.46, "faq:returns": 0.43, "out_of_scope": 0.2}), (), words=5
    )
    assert meaning.kind == "none"


def test_below_the_low_bar_nothing_is_offered() -> None:
    meaning = read_meaning(
        _ranked({"faq:plugs": SUGGEST_LOW - 0.01, "out_of_scope": 0.1}), (), words=5
    )
    assert meaning.kind == "none"


def test_the_shops_own_words_count_towards_an_entry() -> None:
    # the encoder alone puts the entry below the low bar; the lexical match lifts it
    lexical = (Candidate("plugs", 0.5),)
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.30, "faq:returns": 0.2, "out_of_scope": 0.1}), lexical, words=5
    )
    assert (meaning.kind, meaning.label) == ("faq", "plugs")
    assert meaning.score > 0.30


def test_a_short_message_is_not_offered_an_entry_on_a_modest_score() -> None:
    # an e-mail address or a word or two say too little for a score under SUGGEST_AT
    ranked = _ranked({"faq:plugs": 0.46, "faq:returns": 0.35, "out_of_scope": 0.22})
    assert read_meaning(ranked, (), words=2).kind == "none"
    assert read_meaning(ranked, (), words=3).kind == "faq"


def test_a_dispute_just_behind_out_of_scope_still_opens_a_ticket() -> None:
    ranked = _ranked(
        {"out_of_scope": 0.403, "escalate.damaged": 0.394, "order_status": 0.359, "faq:x": 0.3}
    )
    meaning = read_meaning(ranked, (), words=6)
    assert (meaning.kind, meaning.label) == ("escalate", "damaged")
    # further behind, out of scope keeps it: a person is not called for every joke
    ranked = _ranked({"out_of_scope": 0.60, "escalate.damaged": 0.45, "faq:x": 0.3})
    assert read_meaning(ranked, (), words=6).kind == "out_of_scope"


def test_a_dispute_phrase_is_overruled_only_by_a_plain_lead_of_another_kind() -> None:
    from knowledge.meaning import OVERRULE_LEAD, overrules_dispute

    joke = {"out_of_scope": 0.87, "escalate.chargeback": 0.63, "faq:invoice": 0.9}
    assert overrules_dispute(_ranked(joke))  # FAQ entries do not count either way
    bot = {"smalltalk.bot_question": 0.76, "escalate.human": 0.52, "escalate.angry": 0.55}
    assert overrules_dispute(_ranked(bot))
    threat = {"escalate.chargeback": 0.76, "out_of_scope": 0.67}
    assert not overrules_dispute(_ranked(threat))  # "my lawyer will hear about this"
    close = {"out_of_scope": 0.80, "escalate.chargeback": 0.80 - OVERRULE_LEAD + 0.01}
    assert not overrules_dispute(_ranked(close))
    modest = {"out_of_scope": 0.65, "escalate.chargeback": 0.30}
    assert not overrules_dispute(_ranked(modest))  # not close enough to be plain
    greeting = {"smalltalk.greeting": 0.9, "escalate.angry": 0.4}  # "hi, this is a joke"
    assert not overrules_dispute(_ranked(greeting))
