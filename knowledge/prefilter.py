"""Literal prefilters for the lexicons' regular expressions.

Every message is tried against a few hundred lexicon patterns (disputes, order questions,
small talk), and most of them cannot match: "My parcel arrived damaged" holds none of the words
that a chargeback pattern needs. Python's ``re`` still walks each pattern over the whole text
before it says so. A pattern that can only match where one of a few literal strings occurs
("arrived", "came", ... or "broken", "damaged", ...) is first checked with plain substring
tests, which cost a fraction of that; the regex runs only when one of them is there. This is
the idea of RE2's and Hyperscan's prefilters, kept to what is easy to prove: the literal
strings are read off the parsed pattern, and a pattern without such a requirement simply
always runs. A :class:`PatternGroup` (all patterns of one escalation reason, say) finds the
literals of all its patterns in one Aho-Corasick pass (pyahocorasick) and runs only the
patterns whose literals are there.

Texts must be in :func:`one_lower_form` (``knowledge.kb.normalise`` puts them there): lower
case, and one form for the letters that ``re.IGNORECASE`` treats as the same beyond lower case
(dotless ı and i, final ς and σ, ...), so that a substring test agrees with the regex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _casefix  # type: ignore[attr-defined]
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import ahocorasick

MIN_LITERAL = 3  # shorter strings are in almost every text: no use as a filter

# Letters that re.IGNORECASE matches with others although lower() keeps them apart, each
# mapped to the lower case of its upper case: ı -> i, ς -> σ, ϐ -> β, ᲀ -> в, ...
_ONE_FORM = {
    code: folded
    for code in _casefix._EXTRA_CASES
    if len(folded := chr(code).upper().lower()) == 1 and folded != chr(code)
}


def one_lower_form(text: str) -> str:
    """``text`` in lower case, with one form for each letter that IGNORECASE sees as one.

    Turkish capital İ lowers to i and a combining dot above (U+0307), which no pattern
    spelling "iade" would match in "İADE": the dot goes, so ı, I and İ all become i."""
    return text.lower().replace("i\u0307", "i").translate(_ONE_FORM)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings one of which every match of ``pattern`` contains (lower case), or None."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    return _of_sequence(list(parsed))


def _of_sequence(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The best requirement of a sequence: any one of its parts' requirements holds."""
    options: list[frozenset[str]] = []
    run: list[str] = []

    def close_run() -> None:
        if len(run) >= MIN_LITERAL:
            options.append(frozenset({"".join(run)}))
        run.clear()

    for op, av in items:
        if op is sre.LITERAL:
            run.append(one_lower_form(chr(av)))
            continue
        close_run()
        if op is sre.AT:
            continue  # \b, ^, $: nothing to require
        found = _of_item(op, av)
        if found is not None:
            options.append(found)
    close_run()
    if not options:
        return None
    # the fewest and longest strings filter best
    return min(options, key=lambda o: (len(o), -min(len(s) for s in o)))


def _of_item(op: Any, av: Any) -> frozenset[str] | None:
    if op is sre.SUBPATTERN:
        _group, _add_flags, del_flags, body = av
        if del_flags & re.IGNORECASE:
            return None
        return _of_sequence(list(body))
    if op is sre.BRANCH:
        alternatives = [_of_sequence(list(branch)) for branch in av[1]]
        if any(found is None for found in alternatives):
            return None
        return frozenset().union(*alternatives)  # type: ignore[arg-type]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, body = av
        return _of_sequence(list(body)) if low >= 1 else None
    return None  # classes, lookarounds, back references: no literal to rely on


class LexiconPattern:
    """A lexicon pattern: its source, compiled (IGNORECASE), and the literals it needs.

    ``eager=False`` defers compiling to the first match: the built-in lexicons hold over a
    thousand patterns in fifteen languages (about 2 s to compile and parse at start), and a
    process usually meets a few of those languages. They are compiled by the test suite and
    by ``crossdesk kb check``; a seller's own patterns are compiled at load, so that a bad one
    is named at start.
    """

    __slots__ = ("_compiled", "_needs", "pattern")

    def __init__(self, pattern: str, *, eager: bool = True) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None
        self._needs: tuple[str, ...] | None = None
        if eager:
            self.compile()

    def compile(self) -> re.Pattern[str]:
        """The compiled pattern (compiled now if it was not); raises ``re.error``."""
        if self._compiled is None:
            compiled = re.compile(self.pattern, re.IGNORECASE)
            needs = required_literals(self.pattern)
            self._needs = tuple(sorted(needs)) if needs else None
            self._compiled = compiled
        return self._compiled

    @property
    def compiled(self) -> re.Pattern[str]:
        return self.compile()

    @property
    def needs(self) -> tuple[str, ...] | None:
        """The literals one of which every match contains (None: no prefilter)."""
        self.compile()
        return self._needs

    def __repr__(self) -> str:
        return f"LexiconPattern({self.pattern!r})"


class PatternGroup:
    """Patterns of which any may match, tried together: :meth:`search` finds the literals of
    all of them in one Aho-Corasick pass and runs only those patterns that need one of the
    literals found (and those that need none)."""

    __slots__ = ("_always", "_automaton", "_by_literal", "patterns")

    def __init__(self, patterns: Sequence[LexiconPattern]) -> None:
        self.patterns = list(patterns)
        self._always = [p.compiled for p in self.patterns if p.needs is None]
        self._by_literal: dict[str, list[re.Pattern[str]]] = {}
        for pattern in self.patterns:
            for literal in pattern.needs or ():
                self._by_literal.setdefault(literal, []).append(pattern.compiled)
        self._automaton: Any = None
        if self._by_literal:
            self._automaton = ahocorasick.Automaton()
            for literal in self._by_literal:
                self._automaton.add_word(literal, literal)
            self._automaton.make_automaton()

    def search(self, text: str) -> bool:
        """Whether any of the patterns matches ``text`` (in one lower form)."""
        if any(compiled.search(text) for compiled in self._always):
            return True
        if self._automaton is None:
            return False
        tried: set[re.Pattern[str]] = set()
        for _end, literal in self._automaton.iter(text):
            for compiled in self._by_literal[literal]:
                if compiled not in tried:
                    tried.add(compiled)
                    if compiled.search(text):
                        return True
        return False

    def __bool__(self) -> bool:
        return bool(self.patterns)
