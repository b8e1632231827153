"""How fast the customer pipeline classifies one message, on one core.

Measures ``Classifier.classify`` per message (language detection, lexicon, FAQ retrieval) with
the demo KB and with a synthetic KB of 2,000 entries per language, and, in the same run, two
baselines: lingua's language detection alone (the floor any pipeline pays), and a naive
rapidfuzz scan of every example question (what matching without an index costs).

    python benchmarks/classify_speed.py [--messages 3000] [--entries 2000]

Also the bare sentence-encoder call and the lexical classifier without the encoder (the
classifier as it was before the encoder came), and a 2,000-entry seller KB written in one
language (1-2 questions per entry, as sellers write them), embedded like the demo KB.

Bars (issue 11): median <= 5 ms and p99 <= 30 ms per message, demo KB and 2,000 entries. The
batched rows classify 16 messages per call, as the inbox worker hands a burst to the router.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rapidfuzz import fuzz, process

from bot.app import build_knowledge
from bot.config import Settings
from knowledge.classifier import Classifier, ClassifyRequest
from knowledge.encoder import default_cache_dir
from knowledge.kb import FaqEntry
from knowledge.retrieval import FaqIndex

BATCH = 16  # messages per batch in the batched rows (a burst the inbox worker reads at once)
OFF_TOPIC = [
    "what's the weather tomorrow",
    "tell me a joke",
    "who won the game last night",
    "¿me recomiendas una película?",
    "Wie spät ist es in Tokio?",
    "今日は何曜日ですか",
    "你喜欢什么音乐",
    "ما هي عاصمة فرنسا",
    "кто выиграл матч",
    "ciao come stai oggi",
]


def timed(func: Callable[[str], object], messages: list[str]) -> list[float]:
    for message in messages[:50]:  # warm caches
        func(message)
    out = []
    for message in messages:
        started = time.perf_counter()
        func(message)
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def batched(classifier: Classifier, messages: list[str], size: int = BATCH) -> list[float]:
    """Milliseconds per message when classified ``size`` at a time, as the inbox worker
    hands a burst to the router (each batch's time spread over its messages)."""
    requests = [ClassifyRequest(m) for m in messages]
    classifier.classify_many(requests[:size])  # warm caches
    out = []
    for start in range(0, len(requests), size):
        chunk = requests[start : start + size]
        started = time.perf_counter()
        classifier.classify_many(chunk)
        out += [(time.perf_counter() - started) * 1000 / len(chunk)] * len(chunk)
    return sorted(out)


def figures(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def messages_from_kb(
    faq: dict[str, dict[str, FaqEntry]], count: int, rng: random.Random
) -> list[str]:
    pool = [q for entries in faq.values() for e in entries.values() for q in e.questions]
    pool += OFF_TOPIC * 5
    chosen = []
    for _ in range(count):
        words = rng.choice(pool).split()
        if len(words) > 3 and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))  # a little unlike the example
        chosen.append(" ".join(words))
    return chosen


def synthetic_faq(faq: dict[str, dict[str, FaqEntry]], size: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """``size`` entries per language made of the language's own words, 12 questions each."""
    big: dict[str, dict[str, FaqEntry]] = {}
    for language, entries in faq.items():
        vocabulary = sorted({w for e in entries.values() for q in e.questions for w in q.split()})
        template = next(iter(entries.values()))
        made = {}
        for number in range(size):
            questions = tuple(
                " ".join(rng.choices(vocabulary, k=rng.randint(3, 9))) for _ in range(12)
            )
            made[f"entry_{number}"] = replace(
                template,
                id=f"entry_{number}",
                questions=questions,
                keywords=tuple(rng.choices(vocabulary, k=4)),
            )
        big[language] = made
    return big


def seller_faq(faq: dict[str, dict[str, FaqEntry]], size: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """``size`` English entries of 2 questions and a 3-sentence answer, from English words."""
    entries = faq["en"]
    vocabulary = sorted({w for e in entries.values() for q in e.questions for w in q.split()})
    template = next(iter(entries.values()))
    made = {}
    for number in range(size):
        sentences = [
            " ".join(rng.choices(vocabulary, k=rng.randint(6, 14))) + "." for _ in range(3)
        ]
        made[f"entry_{number}"] = replace(
            template,
            id=f"entry_{number}",
            title=" ".join(rng.choices(vocabulary, k=3)),
            questions=tuple(
                " ".join(rng.choices(vocabulary, k=rng.randint(4, 9))) for _ in range(2)
            ),
            answer=" ".join(sentences),
            keywords=(),
        )
    return {"en": made}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(1)
    knowledge = build_knowledge(Settings())
    classifier = knowledge.classifier
    messages = messages_from_kb(knowledge.kb.faq, args.messages, rng)

    detector = classifier.detector
    questions = [
        q for entries in knowledge.kb.faq.values() for e in entries.values() for q in e.questions
    ]
    semantic = classifier.semantic
    lexical = Classifier(knowledge.kb, detector, classifier.index)  # no sentence encoder
    rows = [
        ("lingua detection alone (baseline)", timed(lambda m: detector.detect(m), messages)),
        (
            "naive rapidfuzz scan of all examples (baseline)",
            timed(
                lambda m: process.extractOne(m, questions, scorer=fuzz.token_set_ratio), messages
            ),
        ),
    ]
    if semantic is not None:
        rows.append(("bare encoder call (baseline)", timed(semantic.encode, messages)))
    rows += [
        ("lexical classifier, no encoder, demo KB", timed(lexical.classify, messages)),
        ("classify, demo KB", timed(lambda m: classifier.classify(m), messages)),
    ]
    started = time.perf_counter()
    big_faq = seller_faq(knowledge.kb.faq, args.entries, rng)
    big_index = FaqIndex(big_faq)
    big_semantic = None
    if semantic is not None:
        from knowledge.encoder import EmbeddingCache
        from knowledge.library import load_library
        from knowledge.semantic import SemanticIndex

        big_semantic = SemanticIndex(
            big_faq, load_library(), EmbeddingCache(semantic.encoder, default_cache_dir())
        )
    build_seconds = time.perf_counter() - started
    big = Classifier(knowledge.kb, detector, big_index, big_semantic)
    rows.append(
        (
            f"classify, {args.entries}-entry seller KB (one language)",
            timed(lambda m: big.classify(m), messages),
        )
    )
    rows.append((f"  the same in batches of {BATCH}, per message", batched(big, messages)))
    rows.insert(
        rows.index(next(r for r in rows if r[0] == "classify, demo KB")) + 1,
        (f"  the same in batches of {BATCH}, per message", batched(classifier, messages)),
    )
    base_median, _ = figures(rows[0][1])
    print(
        f"{len(messages)} messages, one core; {args.entries}-entry KB indexed in "
        f"{build_seconds:.1f}s"
    )
    print(f"{'':52} {'median ms':>10} {'p99 ms':>8} {'median / baseline':>18}")
    for name, samples in rows:
        median, p99 = figures(samples)
        print(f"{name:52} {median:10.3f} {p99:8.3f} {median / base_median:18.2f}")


if __name__ == "__main__":
    main()
