"""``crossdesk kb check``: every kind of mistake a KB author makes is found and named."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.kb import check_knowledge_base, load_knowledge_base
from tests.knowledge.small_kb import dump, load, write_small_kb


@pytest.fixture
def kb_path(tmp_path: Path) -> Path:
    return write_small_kb(tmp_path / "kb")


def test_small_kb_is_sound(kb_path: Path) -> None:
    # German lacks returns_policy on purpose (answered by translation): a seller's KB need not
    # have every entry in every language
    assert check_knowledge_base(kb_path) == []
    kb = load_knowledge_base(kb_path)
    assert kb.languages == ["de", "en"]
    assert kb.faq["en"]["shipping_time"].questions[0] == "How long does delivery take?"


def test_demo_kb_is_sound() -> None:
    assert check_knowledge_base() == []


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = load(path)
    change(data)
    dump(path, data)


@pytest.mark.parametrize(
    ("file", "change", "needle"),
    [
        ("faq/en.yaml", lambda d: d["entries"][0].update(answer=""), "empty answer"),
        (
            "faq/en.yaml",
            lambda d: d["entries"][0].update(answer="see {shop_nam}"),
            "unknown placeholder(s) shop_nam",
        ),
        ("faq/en.yaml", lambda d: d["entries"][0].update(answer="oops {"), "unbalanced"),
        (
            "faq/en.yaml",
            lambda d: d["entries"][1]["questions"].append("How long does delivery take?"),
            "also a question of 'shipping_time'",
        ),
        ("faq/en.yaml", lambda d: d["entries"][1].update(id="Returns!"), "id must be"),
        (
            "faq/en.yaml",
            lambda d: d["entries"][1].update(questions=[], title=""),
            "give it a title or at least one question",
        ),
        (
            "lexicon/en.yaml",
            lambda d: d["tests"].append({"text": "hello", "expect": "escalate"}),
            "test 'hello' gives smalltalk, expected escalate",
        ),
        ("lexicon/en.yaml", lambda d: d["escalate"].update(human=[]), "escalate.human has no"),
        (
            "locales/de.yaml",
            lambda d: d.update({"order.ask_verification": "Bitte {email}"}),
            "order.ask_verification has placeholders",
        ),
        ("locales/de.yaml", lambda d: d.update({"extra.key": "x"}), "extra.key is not in en"),
    ],
)
def test_problems_are_named(kb_path: Path, file: str, change, needle: str) -> None:  # type: ignore[no-untyped-def]
    _edit(kb_path / file, change)
    problems = check_knowledge_base(kb_path)
    assert any(needle in problem for problem in problems), problems


def test_bad_regex_and_bad_yaml_are_reported(kb_path: Path) -> None:
    _edit(kb_path / "lexicon" / "en.yaml", lambda d: d["order_status"].append("(unclosed"))
    assert "bad pattern '(unclosed'" in check_knowledge_base(kb_path)[0]
    (kb_path / "faq" / "en.yaml").write_text("entries: [\n", encoding="utf-8")
    assert "not valid YAML" in check_knowledge_base(kb_path)[0]


def test_a_seller_kb_of_answers_only_is_complete(tmp_path: Path) -> None:
    """One faq file, one or two questions per entry: the bot's texts and lexicons are built in."""
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "zh.yaml").write_text(
        "locale: zh\nentries:\n"
        "  - id: delivery\n    questions: [多久能收到货？]\n    answer: 付款后两个工作日内发货。\n"
        "  - id: returns\n    title: 退货\n    answer: 收货后30天内可以退货。\n",
        encoding="utf-8",
    )
    assert check_knowledge_base(tmp_path) == []
    kb = load_knowledge_base(tmp_path)
    assert kb.languages == ["zh"]
    assert "{ticket}" in kb.texts["de"]["escalation.opened"]
    assert kb.lexicons["fr"].escalate["damaged"], "built-in lexicons fill a seller's KB"


def test_a_seller_locale_overrides_one_text(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    (tmp_path / "locales").mkdir()
    (tmp_path / "faq" / "en.yaml").write_text(
        "entries:\n  - id: a\n    title: A\n    answer: B\n", encoding="utf-8"
    )
    (tmp_path / "locales" / "en.yaml").write_text(
        'smalltalk.greeting: "Howdy from the shop!"\n', encoding="utf-8"
    )
    kb = load_knowledge_base(tmp_path)
    assert kb.texts["en"]["smalltalk.greeting"] == "Howdy from the shop!"
    assert kb.texts["en"]["fallback.text"], "the rest stays built in"
    (tmp_path / "locales" / "en.yaml").write_text(
        'order.ask_verification: "Bitte {email}"\n', encoding="utf-8"
    )
    assert any("has placeholders" in p for p in check_knowledge_base(tmp_path))


def test_builtin_patterns_are_compiled_when_first_matched_and_checked_by_kb_check(
    tmp_path: Path,
) -> None:
    from knowledge.kb import DEMO_KB, KnowledgeBase, _check_lexicons, _load_lexicon

    lexicon = _load_lexicon(DEMO_KB / "lexicon" / "en.yaml", eager=False)
    patterns = [pattern for _, pattern in lexicon.named_patterns()]
    assert len(patterns) > 50 and all(p._compiled is None for p in patterns)  # nothing yet
    assert lexicon.escalate_groups["damaged"].search("the mug arrived broken")
    compiled = sum(p._compiled is not None for p in patterns)
    assert 0 < compiled < len(patterns)  # the groups matched so far, not the others
    # a broken built-in pattern is named by kb check (the seller's are named at load)
    broken = tmp_path / "en.yaml"
    broken.write_text("order_status: ['(unclosed']\nescalate: {}\n", encoding="utf-8")
    kb = KnowledgeBase(path=tmp_path, faq={}, lexicons={"en": _load_lexicon(broken, eager=False)},
                       texts={})  # fmt: skip
    assert _check_lexicons(kb) == [
        f"{tmp_path / 'lexicon' / 'en'}.yaml: order_status: bad pattern '(unclosed' "
        "(missing ), unterminated subpattern at position 0)"
    ]
