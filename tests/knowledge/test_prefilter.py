"""Literal prefilters: what they require is read off the pattern soundly, and a prefiltered
pattern finds exactly what the plain regex finds."""

from __future__ import annotations

import re

import pytest

from knowledge.kb import KnowledgeBase, load_knowledge_base, normalise
from knowledge.prefilter import LexiconPattern, PatternGroup, one_lower_form, required_literals


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        (r"\bdead on arrival\b", {"dead on arrival"}),
        (r"\b(refund|money back)\b", {"refund", "money back"}),
        # an optional part requires nothing; the next part does
        (r"\b(please )?(refund|chargeback)", {"refund", "chargeback"}),
        # the smaller set of the two requirements is kept
        (r"\b(arrived|came|showed up)\s+(broken|smashed)\b", {"broken", "smashed"}),
        (r"(?:x{2,}|abc)def", {"def"}),
        (r"(ab)+cdef", {"cdef"}),
        (r"^(?!.*\bif\b).*\bwrong (item|size)\b", {"wrong "}),  # the lookahead needs nothing
        (r"\bWRONG\b", {"wrong"}),  # IGNORECASE: compared in lower case
    ],
)
def test_what_a_pattern_requires(pattern: str, required: set[str]) -> None:
    assert required_literals(pattern) == required


@pytest.mark.parametrize(
    "pattern",
    [
        r"\b\w+\b",  # no literal at all
        r"\b(no|ok)\b",  # too short to be worth a test
        r"(refund|\d+)",  # one alternative needs no literal
        r"(?:refund)?",  # optional
        r"(?-i:Refund)",  # case-sensitive: lower-case text could not tell
        r"[abc]{3}",
        r"(",  # not a pattern: no prefilter, the regex compiler reports it
    ],
)
def test_patterns_without_a_requirement_always_run(pattern: str) -> None:
    assert required_literals(pattern) is None


def test_letters_ignorecase_treats_as_one_are_folded() -> None:
    assert one_lower_form("I DıDN'T") == "i didn't"
    assert normalise("ΣΟΦΟΣ σοφος") == "σοφοσ σοφοσ"
    pattern = LexiconPattern(r"\bdidn't receive\b")
    assert PatternGroup([pattern]).search(normalise("I dıdn't receive it"))
    assert pattern.compiled.search(normalise("I dıdn't receive it"))
    # Turkish İ lowers to i and a combining dot: it is dropped, as "İADE" means "iade"
    assert normalise("İADE İSTİYORUM") == "iade istiyorum" == normalise("IADE ıstıyorum")


@pytest.fixture(scope="module")
def demo_kb() -> KnowledgeBase:
    return load_knowledge_base()


def test_prefiltered_patterns_agree_with_the_plain_regex(demo_kb: KnowledgeBase) -> None:
    """Every pattern of the demo lexicons, on every lexicon test phrase and FAQ question."""
    texts = [
        normalise(case.get("text", "")) for lex in demo_kb.lexicons.values() for case in lex.tests
    ]
    texts += [
        normalise(question)
        for entries in demo_kb.faq.values()
        for entry in entries.values()
        for question in entry.questions
    ]
    patterns = [
        p
        for lex in demo_kb.lexicons.values()
        for group in [*lex.escalate.values(), *lex.smalltalk.values(), lex.order_status]
        for p in group
    ]
    filtered = sum(1 for p in patterns if required_literals(p.pattern) is not None)
    assert filtered > len(patterns) * 0.6  # most patterns are prefiltered
    matches = 0
    for pattern in patterns:
        plain = re.compile(pattern.pattern, re.IGNORECASE)
        alone = PatternGroup([pattern])
        for text in texts:
            found = bool(plain.search(text))
            assert alone.search(text) is found, (pattern.pattern, text)
            matches += found
    assert matches > 100  # the corpus exercises the patterns, not only their misses


def test_pattern_groups_agree_with_trying_each_pattern(demo_kb: KnowledgeBase) -> None:
    texts = [
        normalise(case.get("text", "")) for lex in demo_kb.lexicons.values() for case in lex.tests
    ]
    checked = found = 0
    for lex in demo_kb.lexicons.values():
        groups = [
            *zip(lex.escalate.values(), lex.escalate_groups.values(), strict=True),
            *zip(lex.smalltalk.values(), lex.smalltalk_groups.values(), strict=True),
            (lex.order_status, lex.order_status_group),
        ]
        for patterns, group in groups:
            plain = [re.compile(p.pattern, re.IGNORECASE) for p in patterns]
            for text in texts:
                expected = any(p.search(text) for p in plain)
                assert group.search(text) is expected, (lex.language, text)
                checked += 1
                found += expected
    assert found > 100 and checked > found


def test_a_group_without_literals_still_runs_its_patterns() -> None:
    group = PatternGroup([LexiconPattern(r"\b\w+!{3}"), LexiconPattern(r"\brefund\b")])
    assert group.search("what!!!") and group.search("a refund now")
    assert not group.search("nothing here") and not PatternGroup([]).search("anything")
