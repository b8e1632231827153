"""The statistical language detectors behind :class:`knowledge.language.LanguageDetector`.

Each scorer gives a confidence per candidate language for a text, for one text
(:meth:`confidences`) or for a batch (:meth:`confidences_many`): lingua scores a batch on
every core in one call, without holding the GIL, at under half the cost per text (measured in
``benchmarks/classify_speed.py``); the router's batches of messages use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

__all__ = [
    "LangdetectScorer",
    "LanguageScorer",
    "LinguaScorer",
    "WideLinguaScorer",
    "build_later",
    "make_scorer",
]


class LanguageScorer(Protocol):
    """A statistical detector: confidence per candidate language for a text."""

    def confidences(self, text: str) -> dict[str, float]: ...

    def confidences_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """:meth:`confidences` of each text, as one call where the detector can."""
        ...


LINGUA_CHUNK = 32  # texts per parallel call: lingua holds the GIL for the whole call


def _lingua_values(detector: Any, texts: Sequence[str]) -> list[Any]:
    """lingua's confidence values of each text: a batch in its parallel call (every core), a
    single text in the plain one (no thread pool to wake).

    The parallel call keeps the GIL until it returns: 128 texts held it 46 ms, long enough to
    stall the event loop's other channels (benchmarks/loop_stall.py), so a batch goes in calls
    of :data:`LINGUA_CHUNK` (9 ms at most, the same total time)."""
    if len(texts) == 1:
        return [detector.compute_language_confidence_values(texts[0])]
    values: list[Any] = []
    for start in range(0, len(texts), LINGUA_CHUNK):
        chunk = list(texts[start : start + LINGUA_CHUNK])
        values += detector.compute_language_confidence_values_in_parallel(chunk)
    return values


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
        return self.confidences_many([text])[0]

    def confidences_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        return [
            {
                code: value.value
                for value in values
                if (code := value.language.iso_code_639_1.name.lower()) in self._allowed
            }
            for values in _lingua_values(self._detector, texts)
        ]


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
        return self.confidences_many([text])[0]

    def confidences_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """:meth:`confidences` of each text; the nominating pass runs once for all."""
        if not texts:
            return []
        nominated = _lingua_values(self._nominator.result(), texts)
        return [self._confirmed(text, found) for text, found in zip(texts, nominated, strict=True)]

    def _confirmed(self, text: str, values: Sequence[Any]) -> dict[str, float]:
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

    def confidences_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [self.confidences(text) for text in texts]

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
