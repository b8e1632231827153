"""Language detection that works for chat.

Chat messages are short ("refund?", "hola", "ok 👍"), and statistical detectors guess badly on
a word or two. So the detector's view is combined with what the chat already tells us:

1. the script: kana means Japanese, Han without kana Chinese, Arabic script Arabic, Cyrillic
   Russian (when those languages are configured) — certain and instant;
2. the detector (lingua by default, langdetect selectable), restricted to the configured
   languages, with its confidence per language;
3. for short or unsure messages, the customer's earlier language and the platform's
   ``language_code`` win over a detector that is not clearly sure of something else.

An explicit choice (``/language xx``) is handled above this module and always wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from knowledge.language_scorers import LanguageScorer, LinguaScorer

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LETTER = re.compile(r"[^\W\d_]")
# scripts that name one language: a shop that did not configure it still knows what it reads
_ONE_LANGUAGE_SCRIPTS = (
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hy", re.compile(r"[\u0530-\u058f]")),
    ("ka", re.compile(r"[\u10a0-\u10ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("bn", re.compile(r"[\u0980-\u09ff]")),
    ("ta", re.compile(r"[\u0b80-\u0bff]")),
)
_WORD = re.compile(r"[^\W\d_]+")
# URLs and e-mail addresses. An address is looked for from the start of a word only (the
# lookbehind): ``\S+@`` tried from every position of a long word is quadratic.
ADDRESSES = re.compile(r"https?://\S+|(?<!\S)\S+@\S+")  # URLs and e-mail addresses


@dataclass(frozen=True)
class LanguageQuestion:
    """A message whose language is asked, with what the chat tells of its sender."""

    text: str
    previous: str | None = None  # the customer's last language
    hint: str | None = None  # the platform's idea of the user's language


@dataclass(frozen=True)
class Detection:
    """The language chosen for a message, and why."""

    language: str
    source: str  # script | detector | vocabulary | previous | hint | default
    confidence: float


class LanguageDetector:
    """Chooses the language of a chat message from the text and the chat's signals."""

    SHORT_LETTERS = 12  # messages with fewer letters count as short
    WIDE_MIN_LETTERS = 16  # shorter messages are never taken for an unconfigured language
    WIDE_SURE = 0.5  # the wide detector's confidence needed to name an unconfigured language

    def __init__(
        self,
        languages: Sequence[str],
        default: str,
        scorer: LanguageScorer | None = None,
        vocabulary: Mapping[str, Iterable[str]] | None = None,
        wide: LanguageScorer | None = None,
    ) -> None:
        self.languages = list(languages)
        # every language the detector knows, for customers who write one the shop did not
        # configure; None: only the configured languages are ever named
        self._wide = wide
        self.default = default if default in languages else self.languages[0]
        self._scorer = scorer or LinguaScorer(self.languages)
        # word -> languages whose shop vocabulary has it (from the knowledge base)
        self._vocabulary: dict[str, set[str]] = {}
        for language, words in (vocabulary or {}).items():
            if language in self.languages:
                for word in words:
                    self._vocabulary.setdefault(word.lower(), set()).add(language)

    def _by_vocabulary(self, text: str) -> dict[str, float]:
        """Evidence from the shop's own words: a word only one language uses counts fully."""
        evidence: dict[str, float] = {}
        for word in _WORD.findall(text.lower()):
            owners = self._vocabulary.get(word)
            if owners and len(owners) <= 3:
                for language in owners:
                    evidence[language] = evidence.get(language, 0.0) + 1.0 / len(owners)
        return evidence

    def _by_script(self, text: str) -> str | None:
        if _KANA.search(text) and "ja" in self.languages:
            return "ja"
        if _HAN.search(text):
            if "zh" in self.languages:
                return "zh"
            if "ja" in self.languages:
                return "ja"
        if _ARABIC.search(text) and "ar" in self.languages:
            return "ar"
        if _CYRILLIC.search(text) and "ru" in self.languages:
            latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
            cyrillic = len(_CYRILLIC.findall(text))
            if cyrillic >= latin:
                return "ru"
        if _HANGUL.search(text) and "ko" in self.languages:
            return "ko"
        return None

    def _unconfigured_script(self, text: str, letters: int) -> Detection | None:
        """A language the shop did not configure, written in a script of its own (hangul,
        Hebrew, Thai...): certain."""
        if self._wide is None:
            return None
        for language, script in _ONE_LANGUAGE_SCRIPTS:
            # the script must carry the message, not one word of it ("... 📦 שלום")
            if language not in self.languages and len(script.findall(text)) * 2 >= max(letters, 1):
                return Detection(language, "script", 1.0)
        return None

    def _asks_wide(self, text: str, letters: int) -> bool:
        """Whether the wide detector may name an unconfigured language for ``text``: only a
        message long enough for statistics counts ("order 10042", "refund" keep the
        customer's language)."""
        return (
            self._wide is not None
            and letters >= self.WIDE_MIN_LETTERS
            and not _KANA.search(text)
            and not _HAN.search(text)
        )

    def _unconfigured(self, confidences: Mapping[str, float]) -> Detection | None:
        """An unconfigured language, when the wide detector is sure of it and puts no
        configured language near it."""
        if not confidences:
            return None
        best = max(confidences, key=confidences.__getitem__)
        configured = max((confidences.get(code, 0.0) for code in self.languages), default=0.0)
        value = confidences[best]
        if best not in self.languages and value >= self.WIDE_SURE and value >= 2 * configured:
            return Detection(best, "detector", value)
        return None

    def detect(
        self, text: str, *, previous: str | None = None, hint: str | None = None
    ) -> Detection:
        """The language of ``text``; ``previous`` is the customer's last language, ``hint`` the
        platform's idea of the user's language (both may be None or unsupported)."""
        return self.detect_many([LanguageQuestion(text, previous, hint)])[0]

    def detect_many(self, questions: Sequence[LanguageQuestion]) -> list[Detection]:
        """:meth:`detect` for each question, exactly as one by one; each statistical detector
        runs once over the texts that need it (one parallel call for a batch)."""
        letters = [len(_LETTER.findall(q.text)) for q in questions]
        results: list[Detection | None] = [
            self._unconfigured_script(q.text, n) for q, n in zip(questions, letters, strict=True)
        ]
        wide = [
            i
            for i, (q, n) in enumerate(zip(questions, letters, strict=True))
            if results[i] is None and self._asks_wide(q.text, n)
        ]
        if self._wide is not None and wide:
            texts = [_strip_noise(questions[i].text) for i in wide]
            confidences = self._wide.confidences_many(texts)
            for i, found in zip(wide, confidences, strict=True):
                results[i] = self._unconfigured(found)
        scored: list[int] = []
        for i, question in enumerate(questions):
            if results[i] is not None:
                continue
            scripted = self._by_script(question.text)
            if scripted:
                results[i] = Detection(scripted, "script", 1.0)
            elif letters[i] == 0:
                results[i] = self._fallback(question)
            else:
                scored.append(i)
        if scored:
            texts = [_strip_noise(questions[i].text) for i in scored]
            confidences = self._scorer.confidences_many(texts)
            for i, found in zip(scored, confidences, strict=True):
                results[i] = self._decide(questions[i], letters[i], found)
        return [result for result in results if result is not None]

    def _known(self, question: LanguageQuestion) -> tuple[str | None, str | None]:
        """The question's previous language and platform hint, where configured."""
        previous = question.previous if question.previous in self.languages else None
        hint = _base_language(question.hint) if question.hint else None
        return previous, hint if hint in self.languages else None

    def _fallback(self, question: LanguageQuestion) -> Detection:
        """No letters to go by: what we know of the customer, else the default."""
        previous, hint = self._known(question)
        if previous:
            return Detection(previous, "previous", 0.0)
        if hint:
            return Detection(hint, "hint", 0.0)
        return Detection(self.default, "default", 0.0)

    def _decide(
        self, question: LanguageQuestion, letters: int, confidences: dict[str, float]
    ) -> Detection:
        """The detector's confidences weighed against what we know of the customer."""
        text = question.text
        previous, hint = self._known(question)
        latin_only = {
            code: value
            for code, value in confidences.items()
            if code not in {"ja", "zh", "ar", "ru"}
        }
        confidences = latin_only or confidences
        if not confidences:
            return self._fallback(question)
        best = max(confidences, key=confidences.__getitem__)
        best_value = confidences[best]
        short = letters < self.SHORT_LETTERS
        if short and best_value < 0.9 and previous is None and hint is None:
            # "refund?", "merci": too little for statistics, but the shop's own vocabulary
            # knows these words; a clear lead there decides
            evidence = self._by_vocabulary(text)
            if evidence:
                ranked = sorted(evidence.items(), key=lambda item: -item[1])
                lead, lead_value = ranked[0]
                second = ranked[1][1] if len(ranked) > 1 else 0.0
                if lead_value > second and lead_value >= 0.5:
                    return Detection(lead, "vocabulary", confidences.get(lead, 0.0))
        for known, source in ((previous, "previous"), (hint, "hint")):
            if known is None or known == best:
                continue
            known_value = confidences.get(known, 0.0)
            # On short text a detector's lead means little: keep what we know of the customer
            # unless the detector is clearly sure. On longer text only a near tie keeps it.
            if (short and best_value < 0.9) or known_value >= best_value * 0.8:
                return Detection(known, source, known_value)
        return Detection(best, "detector", best_value)


def _strip_noise(text: str) -> str:
    """Drop URLs, e-mail addresses, numbers and emoji that only confuse a detector."""
    text = ADDRESSES.sub(" ", text)
    kept = [ch if (unicodedata.category(ch)[0] in "LZ" or ch in "'’-") else " " for ch in text]
    return " ".join("".join(kept).split())


def _base_language(code: str) -> str:
    """``pt-BR`` -> ``pt``, ``zh-hans`` -> ``zh``."""
    return code.replace("_", "-").split("-")[0].lower()
