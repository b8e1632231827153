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
    problems = check_knowledge_base(kb_path)
    # German lacks returns_policy on purpose (answered by translation): that is reported
    assert problems == [f"{kb_path / 'faq' / 'de'}.yaml: missing entries returns_policy"]
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
        ("faq/en.yaml", lambda d: d["entries"][1].update(questions=["one"]), "at least 3"),
        (
            "lexicon/en.yaml",
            lambda d: d["tests"].append({"text": "hello", "expect": "escalate"}),
            "test 'hello' gives smalltalk, expected escalate",
        ),
        ("lexicon/en.yaml", lambda d: d["escalate"].update(human=[]), "escalate.human has no"),
        ("locales/de.yaml", lambda d: d.pop("fallback.text"), "missing key fallback.text"),
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
