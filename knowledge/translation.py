"""Machine translation through deep-translator, made safe for a chat bot.

deep-translator is a thin client: its HTTP calls have no timeout, and LibreTranslator refuses
to start without an API key even where a self-hosted server needs none. This module gives every
call the configured timeout, passes a placeholder key, caches translations (through a cache the
caller provides, usually the store), and stops calling a provider that keeps failing for a while
(a circuit breaker), so a slow or dead translator never holds a conversation up for longer than
the timeout, and not at all while the breaker is open.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

Provider = Literal["none", "google", "deepl", "libre", "mymemory", "microsoft"]
PROVIDERS: tuple[str, ...] = get_args(Provider)
NEEDS_API_KEY = ("deepl", "microsoft")  # the others run without a key (libre: self-hosted)


class TranslationSettings(BaseModel):
    """Machine translation between customers and staff, if any."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider = Field(
        "none", description="none | google | deepl | libre | mymemory | microsoft"
    )
    api_key: str | None = Field(None, description="the provider's API key (deepl, microsoft)")
    url: str | None = Field(
        None,
        description="LibreTranslate server (libre); unset: http://localhost:5000/",
        examples=["http://localhost:5000/"],
    )
    region: str | None = Field(
        None, description="Azure region (microsoft)", examples=["westeurope"]
    )
    timeout: float = Field(3.0, gt=0, le=60, description="seconds one translation may take")
    breaker_failures: int = Field(3, ge=1, description="failures in a row that open the breaker")
    breaker_seconds: float = Field(60.0, gt=0, description="how long an open breaker stays open")


# what reads the same in every language: commands, links, e-mail addresses, numbers and codes
_LANGUAGE_NEUTRAL = re.compile(r"/\w+|https?://\S+|\S+@\S+|[^\W\d_]*\d[\w-]*")


def same_language(first: str | None, second: str | None) -> bool:
    """Whether two language codes name one language ("zh" and "zh-CN", "EN" and "en")."""
    if not first or not second:
        return False
    return first.split("-")[0].split("_")[0].lower() == second.split("-")[0].split("_")[0].lower()


def language_neutral(text: str) -> bool:
    """Whether ``text`` has no words to translate: a command like /human, an order number,
    an e-mail address, a link (they read the same for staff and customer)."""
    return not any(char.isalpha() for char in _LANGUAGE_NEUTRAL.sub(" ", text))


class TranslationUnavailable(Exception):
    """The provider failed, timed out, or its breaker is open."""


class TranslationCache(Protocol):
    """Where translations are kept (the store implements it)."""

    def get(self, provider: str, source: str, target: str, text_hash: str) -> str | None: ...

    def put(self, provider: str, source: str, target: str, text_hash: str, text: str) -> None: ...


class MemoryCache:
    """A translation cache in memory (for tools and tests)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str, str], str] = {}

    def get(self, provider: str, source: str, target: str, text_hash: str) -> str | None:
        return self._items.get((provider, source, target, text_hash))

    def put(self, provider: str, source: str, target: str, text_hash: str, text: str) -> None:
        self._items[(provider, source, target, text_hash)] = text


def _with_timeout(requests_module: Any, timeout: float) -> Any:
    """A stand-in for the ``requests`` module whose get/post always carry ``timeout``."""
    shim = types.SimpleNamespace(
        **{n: getattr(requests_module, n) for n in dir(requests_module) if not n.startswith("__")}
    )

    def get(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return requests_module.get(*args, **kwargs)

    def post(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return requests_module.post(*args, **kwargs)

    shim.get, shim.post = get, post
    return shim


# deep-translator's codes differ from ISO 639-1 for a few languages
_PROVIDER_CODES = {
    "google": {"zh": "zh-CN"},
    "mymemory": {
        "en": "en-GB",
        "es": "es-ES",
        "fr": "fr-FR",
        "de": "de-DE",
        "it": "it-IT",
        "pt": "pt-PT",
        "ru": "ru-RU",
        "ja": "ja-JP",
        "zh": "zh-CN",
        "ar": "ar-SA",
    },
    "microsoft": {"zh": "zh-Hans"},
}


def _client_factory(settings: TranslationSettings) -> Callable[[str, str], Any]:
    """Build a function (source, target) -> deep-translator client for the provider."""
    import requests

    provider = settings.provider
    if provider == "libre":
        from deep_translator import LibreTranslator, libre

        libre.requests = _with_timeout(requests, settings.timeout)
        url = settings.url or "http://localhost:5000/"
        return lambda source, target: LibreTranslator(
            source=source,
            target=target,
            custom_url=url if url.endswith("/") else url + "/",
            api_key=settings.api_key or "not-needed",
            use_free_api=False,
        )
    if provider == "google":
        from deep_translator import GoogleTranslator, google

        google.requests = _with_timeout(requests, settings.timeout)
        return lambda source, target: GoogleTranslator(source=source, target=target)
    if provider == "deepl":
        from deep_translator import DeeplTranslator, deepl

        deepl.requests = _with_timeout(requests, settings.timeout)
        return lambda source, target: DeeplTranslator(
            api_key=settings.api_key, source=source, target=target, use_free_api=True
        )
    if provider == "mymemory":
        from deep_translator import MyMemoryTranslator, mymemory

        mymemory.requests = _with_timeout(requests, settings.timeout)
        return lambda source, target: MyMemoryTranslator(source=source, target=target)
    if provider == "microsoft":
        from deep_translator import MicrosoftTranslator, microsoft

        microsoft.requests = _with_timeout(requests, settings.timeout)
        return lambda source, target: MicrosoftTranslator(
            api_key=settings.api_key, source=source, target=target, region=settings.region
        )
    raise ValueError(f"translation.provider {provider!r} is not a translator")


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


class Translator:
    """Translates text with the configured provider, a cache and a circuit breaker."""

    def __init__(
        self,
        settings: TranslationSettings,
        cache: TranslationCache | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.cache = cache or MemoryCache()
        self._monotonic = monotonic
        self._breaker = _Breaker()
        self._clients: dict[tuple[str, str], Any] = {}
        self._factory = _client_factory(settings) if settings.provider != "none" else None
        self._local = threading.local()  # per thread: the translations deferred, if deferring

    @contextlib.contextmanager
    def deferring(self) -> Iterator[list[tuple[str, str, str]]]:
        """Within the block (in this thread), a translation the cache does not hold is not
        fetched: :meth:`translate` notes ``(text, source, target)`` in the yielded list and
        raises TranslationUnavailable, as for a provider that is down.

        The router handles a batch this way inside its transaction, and when something was
        noted it rolls back, fetches the translations outside any transaction, and handles
        the batch again (now from the cache): a slow provider never holds the store's write
        lock.
        """
        wanted: list[tuple[str, str, str]] = []
        self._local.deferred = wanted
        try:
            yield wanted
        finally:
            self._local.deferred = None

    @contextlib.contextmanager
    def fetching(self) -> Iterator[None]:
        """Within the block, translations are fetched as usual, even inside :meth:`deferring`
        (for work that must commit as it goes, such as retrying a failed batch in parts)."""
        saved = getattr(self._local, "deferred", None)
        self._local.deferred = None
        try:
            yield
        finally:
            self._local.deferred = saved

    @property
    def enabled(self) -> bool:
        """Whether a provider is configured at all."""
        return self._factory is not None

    @property
    def available(self) -> bool:
        """Whether a call would be tried now (configured, breaker closed)."""
        return self.enabled and self._monotonic() >= self._breaker.open_until

    def cached(self, text: str, source: str, target: str) -> str | None:
        """The cached translation, without calling the provider."""
        if source == target:
            return text
        return self.cache.get(self.settings.provider, source, target, _hash(text))

    def translate(self, text: str, source: str, target: str) -> str:
        """``text`` from ``source`` into ``target``; raises TranslationUnavailable."""
        if source == target or not text.strip():
            return text
        key = _hash(text)
        hit = self.cache.get(self.settings.provider, source, target, key)
        if hit is not None:
            return hit
        if self._factory is None:
            raise TranslationUnavailable("no translation provider is configured")
        if not self.available:
            raise TranslationUnavailable("translation provider is failing; breaker open")
        deferred = getattr(self._local, "deferred", None)
        if deferred is not None:
            deferred.append((text, source, target))
            raise TranslationUnavailable("deferred: fetched outside the transaction")
        try:
            client = self._clients.get((source, target))
            if client is None:
                codes = _PROVIDER_CODES.get(self.settings.provider, {})
                client = self._factory(codes.get(source, source), codes.get(target, target))
                self._clients[(source, target)] = client
            result = client.translate(text)
        except Exception as exc:  # a provider raises anything from HTTP errors to parsing
            self._failed(exc)
            raise TranslationUnavailable(f"{self.settings.provider}: {type(exc).__name__}") from exc
        if not isinstance(result, str) or not result.strip():
            self._failed(ValueError("empty translation"))
            raise TranslationUnavailable(f"{self.settings.provider}: empty translation")
        self._breaker.failures = 0
        self.cache.put(self.settings.provider, source, target, key, result)
        return result

    def _failed(self, exc: Exception) -> None:
        breaker = self._breaker
        breaker.failures += 1
        log.warning("translation failed (%s), %d in a row", type(exc).__name__, breaker.failures)
        if breaker.failures >= self.settings.breaker_failures:
            breaker.open_until = self._monotonic() + self.settings.breaker_seconds
            breaker.failures = 0
            log.warning("translation breaker open for %.0f s", self.settings.breaker_seconds)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
