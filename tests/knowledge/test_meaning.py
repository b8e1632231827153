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
    )
    assert SUGGEST_LOW <= meaning.score < SUGGEST_AT
    assert (meaning.kind, meaning.label, meaning.sure) == ("faq", "plugs", False)
    assert [c.entry_id for c in meaning.candidates] == ["plugs", "returns"]


def test_a_weak_entry_is_not_offered_when_out_of_scope_is_near() -> None:
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.46, "faq:returns": 0.35, "out_of_scope": 0.40}), ()
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
    assert read_meaning(ranked, ()).kind != "faq"


def test_a_weak_entry_is_not_offered_when_the_next_is_as_near() -> None:
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.46, "faq:returns": 0.43, "out_of_scope": 0.2}), ()
    )
    assert meaning.kind == "none"


def test_below_the_low_bar_nothing_is_offered() -> None:
    meaning = read_meaning(_ranked({"faq:plugs": SUGGEST_LOW - 0.01, "out_of_scope": 0.1}), ())
    assert meaning.kind == "none"


def test_the_shops_own_words_count_towards_an_entry() -> None:
    # the encoder alone puts the entry below the low bar; the lexical match lifts it
    lexical = (Candidate("plugs", 0.5),)
    meaning = read_meaning(
        _ranked({"faq:plugs": 0.30, "faq:returns": 0.2, "out_of_scope": 0.1}), lexical
    )
    assert (meaning.kind, meaning.label) == ("faq", "plugs")
    assert meaning.score > 0.30
