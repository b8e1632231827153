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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

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
_NOISE = re.compile(r"https?://\S+|(?<!\S)\S+@\S+")


class LanguageScorer(Protocol):
    """A statistical detector: confidence per candidate language for a text."""

    def confidences(self, text: str) -> dict[str, float]: ...


_BUILDS = ThreadPoolExecutor(2, "lingua")


def build_later(builder: Any) -> Future[Any]:
    """A lingua detector built beside the rest of the start-up (lingua releases the GIL while
    it loads its models, about 1-2 s); whoever needs it first waits for it if need be."""
    return _BUILDS.submit(builder.build)


class LinguaScorer:
    """lingua-language-detector: the most accurate on short text; the default."""

    def __init__(self, languages: Sequence[str]) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        chosen = [
            Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages
        ]
        if len(chosen) < 2:  # lingua needs two candidates; the second never wins alone
            extra = Language.ENGLISH if Language.ENGLISH not in chosen else Language.GERMAN
            chosen.append(extra)
        self._allowed = set(languages)
        self._built = build_later(
            LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models()
        )

    @property
    def _detector(self) -> Any:
        return self._built.result()

    def confidences(self, text: str) -> dict[str, float]:
        values = self._detector.compute_language_confidence_values(text)
        result = {}
        for value in values:
            code = value.language.iso_code_639_1.name.lower()
            if code in self._allowed:
                result[code] = value.value
        return result


class WideLinguaScorer:
    """Names a language the shop did not configure, with lingua, in two steps.

    All of lingua's high-accuracy models take 1.3 GB; its low-accuracy models for every
    language about 100 MB, but on chat-length text they name Latin for Italian and Danish for
    English. So the low-accuracy pass only nominates, and a high-accuracy detector over the
    configured languages plus the nominee confirms (lingua shares loaded models between
    detectors: each language seen costs its own model once, about 25 MB; at most
    :data:`MAX_EXTRA` of them are kept).
    """

    MAX_EXTRA = 12
    NOMINATE_AT = 0.8  # below this the low-accuracy pass is guessing
    NEVER = {"la", "eo"}  # no customer writes Latin or Esperanto; they only catch noise

    def __init__(self, configured: Sequence[str]) -> None:
        self._codes = set(configured)
        self._configured = [_lingua_language(code) for code in configured]
        self._confirmers: dict[str, object] = {}
        from lingua import LanguageDetectorBuilder

        self._nominator = build_later(
            LanguageDetectorBuilder.from_all_languages()
            .with_low_accuracy_mode()
            .with_preloaded_language_models()
        )

    def confidences(self, text: str) -> dict[str, float]:
        """The nominee's high-accuracy confidence against the configured languages."""
        values = self._nominator.result().compute_language_confidence_values(text)
        if not values:
            return {}
        nominee = values[0].language.iso_code_639_1.name.lower()
        if nominee in self._codes or nominee in self.NEVER or values[0].value < self.NOMINATE_AT:
            return {}
        confirmer = self._confirmer(nominee)
        if confirmer is None:
            return {}
        confirmed = confirmer.compute_language_confidence_values(text)  # type: ignore[attr-defined]
        return {v.language.iso_code_639_1.name.lower(): v.value for v in confirmed if v.value}

    def _confirmer(self, code: str) -> object | None:
        from lingua import LanguageDetectorBuilder

        if code in self._confirmers:
            return self._confirmers[code]
        if len(self._confirmers) >= self.MAX_EXTRA:
            return None
        try:
            language = _lingua_language(code)
        except (AttributeError, ValueError):
            return None
        languages = {*self._configured, language}
        if len(languages) < 2:
            return None
        self._confirmers[code] = LanguageDetectorBuilder.from_languages(*languages).build()
        return self._confirmers[code]


def _lingua_language(code: str):
    from lingua import IsoCode639_1, Language

    return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))


class LangdetectScorer:
    """langdetect (a port of Google's language-detection), seeded so it is deterministic."""

    def __init__(self, languages: Sequence[str], seed: int = 0) -> None:
        from langdetect import DetectorFactory
        from langdetect.detector_factory import init_factory

        DetectorFactory.seed = seed
        init_factory()
        from langdetect.detector_factory import _factory

        self._factory = _factory
        self._allowed = set(languages)
        self._codes = {code: "zh-cn" if code == "zh" else code for code in languages}
        self._seed = seed

    def confidences(self, text: str) -> dict[str, float]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.set_prior_map({code: 1.0 for code in self._codes.values()})
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return {}
        result: dict[str, float] = {}
        for item in found:
            code = "zh" if item.lang.startswith("zh") else item.lang
            if code in self._allowed:
                result[code] = result.get(code, 0.0) + item.prob
        return result


def make_scorer(name: str, languages: Sequence[str]) -> LanguageScorer:
    """The detector called ``name`` ("lingua" or "langdetect") for ``languages``."""
    if name == "lingua":
        return LinguaScorer(languages)
    if name == "langdetect":
        return LangdetectScorer(languages)
    raise ValueError(f"unknown language detector {name!r}; use 'lingua' or 'langdetect'")


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

    def _unconfigured(self, text: str, letters: int) -> Detection | None:
        """A language the shop did not configure, when the text clearly is one.

        A script of its own (hangul, Hebrew, Thai...) is certain. Otherwise only a message long
        enough for statistics counts ("order 10042", "refund" keep the customer's language),
        and only when the wide detector is sure and puts no configured language near it.
        """
        if self._wide is None:
            return None
        for language, script in _ONE_LANGUAGE_SCRIPTS:
            # the script must carry the message, not one word of it ("... 📦 שלום")
            if language not in self.languages and len(script.findall(text)) * 2 >= max(letters, 1):
                return Detection(language, "script", 1.0)
        if letters < self.WIDE_MIN_LETTERS or _KANA.search(text) or _HAN.search(text):
            return None
        confidences = self._wide.confidences(_strip_noise(text))
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
        previous = previous if previous in self.languages else None
        hint = _base_language(hint) if hint else None
        hint = hint if hint in self.languages else None
        fallback = previous or hint or self.default
        fallback_source = "previous" if previous else "hint" if hint else "default"
        letters = len(_LETTER.findall(text))
        unconfigured = self._unconfigured(text, letters)
        if unconfigured:
            return unconfigured
        scripted = self._by_script(text)
        if scripted:
            return Detection(scripted, "script", 1.0)
        if letters == 0:
            return Detection(fallback, fallback_source, 0.0)
        confidences = self._scorer.confidences(_strip_noise(text))
        latin_only = {
            code: value
            for code, value in confidences.items()
            if code not in {"ja", "zh", "ar", "ru"}
        }
        confidences = latin_only or confidences
        if not confidences:
            return Detection(fallback, fallback_source, 0.0)
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
    text = _NOISE.sub(" ", text)
    kept = [ch if (unicodedata.category(ch)[0] in "LZ" or ch in "'’-") else " " for ch in text]
    return " ".join("".join(kept).split())


def _base_language(code: str) -> str:
    """``pt-BR`` -> ``pt``, ``zh-hans`` -> ``zh``."""
    return code.replace("_", "-").split("-")[0].lower()
