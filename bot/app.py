"""The composition root: builds every part of CrossDesk from the settings.

Nothing else constructs engines, detectors or translators; tests build an :class:`App` with
their own settings and clock and get the same wiring production runs.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from handlers.router import Router
from handlers.services import Services
from knowledge.classifier import Classifier
from knowledge.encoder import (
    EmbeddingCache,
    EncoderSettings,
    SentenceEncoder,
    default_cache_dir,
    make_encoder,
)
from knowledge.kb import KnowledgeBase, load_knowledge_base
from knowledge.language import LanguageDetector
from knowledge.language_scorers import LanguageScorer, WideLinguaScorer, make_scorer
from knowledge.library import IntentLibrary, load_library
from knowledge.retrieval import FaqIndex
from knowledge.semantic import SemanticIndex
from knowledge.texts import Texts
from knowledge.translation import Translator
from store.clock import Clock, utcnow
from store.db import create_store_engine, session_factory, upgrade
from store.models import Order
from store.translation_cache import StoreTranslationCache

log = logging.getLogger(__name__)
WORD = re.compile(r"[^\W\d_]+")


@dataclass
class Knowledge:
    """The loaded knowledge base with its indexes: built once, shared, read-only."""

    kb: KnowledgeBase
    texts: Texts
    classifier: Classifier


def build_knowledge(settings: Settings) -> Knowledge:
    """Load the KB, the intent library and their indexes for the configured languages."""
    support = settings.support
    # the detectors' models load in the background (lingua releases the GIL): started first
    scorer = shared_scorer(support.language_detector, tuple(support.languages))
    wide = wide_scorer(tuple(support.languages)) if support.language_detector == "lingua" else None
    kb = load_knowledge_base(support.knowledge_base)
    kb.faq = {lang: entries for lang, entries in kb.faq.items() if lang in support.languages}
    detector = LanguageDetector(
        support.languages,
        support.default_language,
        scorer,
        vocabulary=shop_vocabulary(kb),
        wide=wide,
    )
    texts = Texts(
        kb.texts,
        default_language=support.default_language,
        variables={"shop_name": support.shop_name, "support_email": support.support_email},
    )
    semantic = build_semantic_index(settings, kb)
    return Knowledge(kb, texts, Classifier(kb, detector, FaqIndex(kb.faq), semantic))


def build_semantic_index(settings: Settings, kb: KnowledgeBase) -> SemanticIndex | None:
    """The sentence encoder's index of the KB and the intent library (None: encoder off)."""
    understanding = settings.understanding
    if understanding.encoder == "none":
        return None
    encoder = shared_encoder(understanding.encoder)
    directory = Path(understanding.cache_dir) if understanding.cache_dir else default_cache_dir()
    cache = EmbeddingCache(encoder, directory)
    extra = [kb.path / "library"] if (kb.path / "library").is_dir() else []
    index = SemanticIndex(kb.faq, builtin_library() if not extra else load_library(*extra), cache)
    log.debug("semantic index: %d examples, %d embedded now", index.size, cache.encoded)
    return index


@functools.cache
def builtin_library() -> IntentLibrary:
    """The built-in intent library, read once per process (it is read-only)."""
    return load_library()


@functools.cache
def shared_scorer(name: str, languages: tuple[str, ...]) -> LanguageScorer:
    """One detector per configuration in a process: stateless, and its models are large."""
    return make_scorer(name, languages)


@functools.cache
def wide_scorer(languages: tuple[str, ...]) -> WideLinguaScorer:
    """One detector of unconfigured languages per process: its models are large."""
    return WideLinguaScorer(languages)


@functools.cache
def shared_encoder(name: str) -> SentenceEncoder:
    """One encoder per model in a process: its weights are loaded once."""
    return make_encoder(EncoderSettings(encoder=name))


def shop_vocabulary(kb: KnowledgeBase) -> dict[str, set[str]]:
    """The words each language's FAQ and lexicon tests use: evidence for short messages."""
    vocabulary: dict[str, set[str]] = {}
    for language, entries in kb.faq.items():
        texts = [t for e in entries.values() for t in (e.title, *e.questions, *e.keywords)]
        lexicon = kb.lexicons.get(language)
        texts += [str(test.get("text", "")) for test in (lexicon.tests if lexicon else [])]
        vocabulary[language] = {w for t in texts for w in WORD.findall(t.lower())}
    return vocabulary


@dataclass
class App:
    """Everything a running CrossDesk needs, wired together."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    knowledge: Knowledge
    services: Services
    router: Router

    def close(self) -> None:
        self.engine.dispose()


def build_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    staff_channels: list[str] | None = None,
    knowledge: Knowledge | None = None,
) -> App:
    """Open (and migrate) the store, load the knowledge, wire the handlers."""
    engine = create_store_engine(
        settings.store.url, echo=settings.store.echo, busy_timeout=settings.store.busy_timeout
    )
    upgrade(engine)
    sessions = session_factory(engine)
    knowledge = knowledge or build_knowledge(settings)
    translator = Translator(settings.translation, StoreTranslationCache(sessions, clock))
    if staff_channels is None:
        staff_channels = [
            name
            for name, on in (
                (
                    "telegram",
                    settings.telegram.token and settings.telegram.staff_chat_id is not None,
                ),
                ("slack", settings.slack.bot_token and settings.slack.staff_channel),
            )
            if on
        ]
    services = Services(
        sessions=sessions,
        kb=knowledge.kb,
        classifier=knowledge.classifier,
        texts=knowledge.texts,
        translator=translator,
        support=settings.support,
        staff_channels=staff_channels,
        clock=clock,
        handoff=settings.handoff,
    )
    # No translation is fetched inside a write transaction (SQLite's one write lock would
    # stall everyone, PostgreSQL's row locks the people in the batch). A sequence does not
    # roll back, so on PostgreSQL the rolled-back pass hands its ticket numbers on.
    router = Router(
        services,
        translate_outside_writes=True,
        keep_ticket_numbers=engine.dialect.name == "postgresql",
    )
    return App(settings, engine, sessions, knowledge, services, router)


def ensure_demo_shop(app: App, *, orders: int = 2000, products: int = 200, seed: int = 7) -> bool:
    """Fill an empty store with the demo shop; True if it did."""
    from store.demo import generate_demo_shop

    with app.sessions() as session, session.begin():
        if session.scalar(select(func.count()).select_from(Order)):
            return False
        generate_demo_shop(
            session, orders=orders, products=products, seed=seed, today=app.services.clock().date()
        )
    return True
