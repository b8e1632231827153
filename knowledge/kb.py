"""Loading and validating a knowledge base (the format is in docs/knowledge-base.md).

A knowledge base is a folder with ``faq/<lang>.yaml`` (FAQ entries), ``lexicon/<lang>.yaml``
(phrases that reveal disputes, greetings and order questions) and ``locales/<lang>.yaml`` (the
bot's own texts). :func:`load_knowledge_base` reads it once at start; :func:`check_knowledge_base`
lists everything wrong with one, for ``crossdesk kb check`` and the test suite.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from knowledge.prefilter import LexiconPattern, PatternGroup, one_lower_form

DEMO_KB = Path(__file__).parent
# libyaml's safe loader where PyYAML was built with it: the KB and the library are ~10,000
# lines of YAML, and the pure-Python parser made start-up several seconds slower
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ESCALATION_REASONS = (
    "damaged",
    "wrong_item",
    "not_received",
    "refund_demand",
    "chargeback",
    "angry",
    "human",
)
SMALLTALK_KINDS = ("greeting", "thanks", "bye")
ANSWER_PLACEHOLDERS = {"shop_name", "support_email"}
_ID = re.compile(r"^[a-z0-9_]+$")
# Scripts written without spaces between words (kana, CJK ideographs, hangul)
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be loaded; the message names the file and the problem."""


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry in one language."""

    id: str
    language: str
    title: str
    answer: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()  # library topics the entry answers (knowledge/library.py)


@dataclass
class Lexicon:
    """Compiled intent patterns of one language."""

    language: str
    escalate: dict[str, list[LexiconPattern]] = field(default_factory=dict)
    smalltalk: dict[str, list[LexiconPattern]] = field(default_factory=dict)
    order_status: list[LexiconPattern] = field(default_factory=list)
    # "still not here, where is it?" asks for the order's status; "never came" and "three
    # weeks late" are disputes: see knowledge.intents.still_waiting
    still_waiting: list[LexiconPattern] = field(default_factory=list)
    overdue: list[LexiconPattern] = field(default_factory=list)
    order_words: tuple[str, ...] = ()
    other_shops: tuple[str, ...] = ()  # other shops and marketplaces: questions about them are
    # not ours to answer from the FAQ ("does Zalando offer free returns?")
    tests: list[dict[str, str]] = field(default_factory=list)

    def named_patterns(self) -> Iterator[tuple[str, LexiconPattern]]:
        """Every pattern with the key it is listed under (``escalate.damaged``...)."""
        for group, kinds in (("escalate", self.escalate), ("smalltalk", self.smalltalk)):
            for kind, patterns in kinds.items():
                yield from ((f"{group}.{kind}", p) for p in patterns)
        for name in ("order_status", "still_waiting", "overdue"):
            yield from ((name, p) for p in getattr(self, name))

    # the same patterns, grouped for matching (knowledge.prefilter.PatternGroup)
    @cached_property
    def escalate_groups(self) -> dict[str, PatternGroup]:
        return {reason: PatternGroup(patterns) for reason, patterns in self.escalate.items()}

    @cached_property
    def smalltalk_groups(self) -> dict[str, PatternGroup]:
        return {kind: PatternGroup(patterns) for kind, patterns in self.smalltalk.items()}

    @cached_property
    def order_status_group(self) -> PatternGroup:
        return PatternGroup(self.order_status)

    @cached_property
    def still_waiting_group(self) -> PatternGroup:
        return PatternGroup(self.still_waiting)

    @cached_property
    def overdue_group(self) -> PatternGroup:
        return PatternGroup(self.overdue)


@dataclass
class KnowledgeBase:
    """Everything the customer pipeline knows, by language."""

    path: Path
    faq: dict[str, dict[str, FaqEntry]]  # language -> id -> entry
    lexicons: dict[str, Lexicon]
    texts: dict[str, dict[str, str]]  # language -> key -> text

    @property
    def languages(self) -> list[str]:
        """Languages that have FAQ entries."""
        return sorted(self.faq)

    @property
    def entry_ids(self) -> list[str]:
        """Every entry id in any language."""
        return sorted({entry_id for entries in self.faq.values() for entry_id in entries})


def normalise(text: str) -> str:
    """The form patterns and matching see: NFKC, one lower-case form, single spaces."""
    return " ".join(one_lower_form(unicodedata.normalize("NFKC", text)).split())


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: not valid YAML ({exc})") from exc


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value if item is not None and str(item).strip())


def _load_faq(path: Path) -> dict[str, FaqEntry]:
    data = _read_yaml(path) or {}
    language = path.stem
    entries: dict[str, FaqEntry] = {}
    for raw in data.get("entries") or []:
        entry = FaqEntry(
            id=str(raw.get("id", "")),
            language=language,
            title=str(raw.get("title") or "").strip(),
            answer=str(raw.get("answer") or "").strip(),
            questions=_strings(raw.get("questions")),
            keywords=_strings(raw.get("keywords")),
            tags=_strings(raw.get("tags")),
            topics=_strings(raw.get("topic")) + _strings(raw.get("topics")),
        )
        entries.setdefault(entry.id, entry)
    return entries


def _compile(patterns: Any, where: str, eager: bool) -> list[LexiconPattern]:
    compiled = []
    for pattern in _strings(patterns):
        try:
            compiled.append(LexiconPattern(pattern, eager=eager))
        except re.error as exc:
            raise KnowledgeBaseError(f"{where}: bad pattern {pattern!r} ({exc})") from exc
    return compiled


def _load_lexicon(path: Path, *, eager: bool = True) -> Lexicon:
    """The lexicon in ``path``; ``eager=False`` (the built-in ones, which the test suite
    compiles) leaves each pattern to be compiled when first matched."""
    data = _read_yaml(path) or {}
    where = str(path)
    return Lexicon(
        language=path.stem,
        escalate={
            reason: _compile(patterns, f"{where}: escalate.{reason}", eager)
            for reason, patterns in (data.get("escalate") or {}).items()
        },
        smalltalk={
            kind: _compile(patterns, f"{where}: smalltalk.{kind}", eager)
            for kind, patterns in (data.get("smalltalk") or {}).items()
        },
        order_status=_compile(data.get("order_status"), f"{where}: order_status", eager),
        still_waiting=_compile(data.get("still_waiting"), f"{where}: still_waiting", eager),
        overdue=_compile(data.get("overdue"), f"{where}: overdue", eager),
        order_words=tuple(normalise(word) for word in _strings(data.get("order_words"))),
        other_shops=tuple(normalise(name) for name in _strings(data.get("other_shops"))),
        tests=list(data.get("tests") or []),
    )


def _load_texts(path: Path) -> dict[str, str]:
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise KnowledgeBaseError(f"{path}: must be a mapping of text keys to texts")
    return {str(key): str(value) for key, value in data.items()}


def load_knowledge_base(path: Path | str | None = None) -> KnowledgeBase:
    """Load the knowledge base in folder ``path`` (the demo KB by default)."""
    root = Path(path) if path else DEMO_KB
    if not root.is_dir():
        raise KnowledgeBaseError(f"{root}: no such knowledge base folder")
    faq = {p.stem: _load_faq(p) for p in sorted((root / "faq").glob("*.yaml"))}
    builtin = root == DEMO_KB
    lexicons = {
        p.stem: _load_lexicon(p, eager=not builtin)
        for p in sorted((root / "lexicon").glob("*.yaml"))
    }
    texts = {p.stem: _load_texts(p) for p in sorted((root / "locales").glob("*.yaml"))}
    if not faq and not texts:
        raise KnowledgeBaseError(f"{root}: no faq/*.yaml or locales/*.yaml files")
    if not builtin:
        # A seller's KB may be just answers: the bot's own texts and lexicons come built in,
        # and a seller's file for a language replaces (lexicon) or extends (texts) the built-in
        for p in sorted((DEMO_KB / "lexicon").glob("*.yaml")):
            if p.stem not in lexicons:
                lexicons[p.stem] = _load_lexicon(p, eager=False)
        for p in sorted((DEMO_KB / "locales").glob("*.yaml")):
            texts[p.stem] = {**_load_texts(p), **texts.get(p.stem, {})}
    return KnowledgeBase(path=root, faq=faq, lexicons=lexicons, texts=texts)


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def check_knowledge_base(path: Path | str | None = None, reference: str = "en") -> list[str]:
    """Everything wrong with the knowledge base at ``path``; an empty list means it is sound."""
    try:
        kb = load_knowledge_base(path)
    except KnowledgeBaseError as exc:
        return [str(exc)]
    problems: list[str] = []
    root = kb.path
    product = root.resolve() == DEMO_KB.resolve()  # the product's own KB must be complete
    all_ids = set(kb.entry_ids)
    seen_questions: dict[tuple[str, str], str] = {}
    for language, entries in kb.faq.items():
        where = f"{root / 'faq' / language}.yaml"
        missing = sorted(all_ids - set(entries))
        if missing and product:
            problems.append(f"{where}: missing entries {', '.join(missing)}")
        for entry in entries.values():
            label = f"{where}: entry {entry.id!r}"
            if not _ID.match(entry.id):
                problems.append(f"{label}: id must be lower-case letters, digits and _")
            if not entry.title and not entry.questions:
                problems.append(f"{label}: give it a title or at least one question")
            if not entry.answer:
                problems.append(f"{label}: empty answer")
            if product and len(entry.questions) < 3:
                problems.append(f"{label}: needs at least 3 example questions")
            unknown = _placeholders(entry.answer) - ANSWER_PLACEHOLDERS
            if unknown:
                problems.append(
                    f"{label}: answer has unknown placeholder(s) {', '.join(sorted(unknown))}; "
                    f"allowed: {', '.join(sorted(ANSWER_PLACEHOLDERS))}"
                )
            for question in entry.questions:
                key = (language, normalise(question))
                other = seen_questions.setdefault(key, entry.id)
                if other != entry.id:
                    problems.append(
                        f"{label}: question {question!r} is also a question of {other!r}"
                    )
    problems.extend(_check_lexicons(kb))
    problems.extend(_check_texts(kb, reference, own=_own_texts(root) if not product else None))
    return problems


def _own_texts(root: Path) -> dict[str, dict[str, str]]:
    """A seller's own locale files, before the built-in texts fill what they leave out."""
    own = {}
    for path in sorted((root / "locales").glob("*.yaml")):
        try:
            own[path.stem] = _load_texts(path)
        except KnowledgeBaseError:
            continue
    return own


def _check_lexicons(kb: KnowledgeBase) -> list[str]:
    from knowledge.intents import lexicon_intent  # the same code the bot uses

    problems = []
    for language in kb.faq if kb.path.resolve() == DEMO_KB.resolve() else ():
        if language not in kb.lexicons:
            problems.append(f"{kb.path / 'lexicon' / language}.yaml: missing")
    for language, lexicon in kb.lexicons.items():
        where = f"{kb.path / 'lexicon' / language}.yaml"
        broken = []
        for name, pattern in lexicon.named_patterns():
            try:
                pattern.compile()
            except re.error as exc:
                broken.append(f"{where}: {name}: bad pattern {pattern.pattern!r} ({exc})")
        if broken:  # its tests would only meet the same error
            problems += broken
            continue
        for reason in ESCALATION_REASONS:
            if not lexicon.escalate.get(reason):
                problems.append(f"{where}: escalate.{reason} has no patterns")
        for test in lexicon.tests:
            text, expect = str(test.get("text", "")), str(test.get("expect", ""))
            got = lexicon_intent(text, lexicon)
            if got != expect:
                problems.append(f"{where}: test {text!r} gives {got}, expected {expect}")
    return problems


def _check_texts(
    kb: KnowledgeBase, reference: str, own: dict[str, dict[str, str]] | None = None
) -> list[str]:
    """Locale problems; for a seller's KB (``own``) only in the files the seller wrote."""
    problems = []
    base = kb.texts.get(reference)
    if own is not None and (DEMO_KB / "locales" / f"{reference}.yaml").is_file():
        base = _load_texts(DEMO_KB / "locales" / f"{reference}.yaml")
    if base is None:
        return [f"{kb.path / 'locales' / reference}.yaml: the reference locale is missing"]
    languages = sorted(own) if own is not None else sorted(set(kb.faq) | set(kb.texts))
    for language in languages:
        texts = (own if own is not None else kb.texts).get(language)
        where = f"{kb.path / 'locales' / language}.yaml"
        if texts is None:
            if language in kb.faq and language not in kb.texts:
                problems.append(f"{where}: missing")
            continue
        if own is None:
            for key in sorted(set(base) - set(texts)):
                problems.append(f"{where}: missing key {key}")
        for key in sorted(set(texts) - set(base)):
            problems.append(f"{where}: key {key} is not in {reference}.yaml")
        for key in sorted(set(base) & set(texts)):
            if not texts[key].strip():
                problems.append(f"{where}: {key} is empty")
            elif _placeholders(texts[key]) != _placeholders(base[key]):
                problems.append(
                    f"{where}: {key} has placeholders {sorted(_placeholders(texts[key]))}, "
                    f"{reference}.yaml has {sorted(_placeholders(base[key]))}"
                )
    return problems
