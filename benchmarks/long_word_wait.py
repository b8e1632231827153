"""How long another customer waits because a 40,000-character word arrived with them.

The router handles the messages that arrived together in one batch (one transaction), so
whatever one message costs, the others in its batch wait for. Through ``Router.handle_batch``
on the demo shop in a SQLite file in a temporary folder, each round times two batches with
fresh customers: another customer's question alone (the baseline), and the same question
batched after a 40,000-character word (a Slack message may be that long; Telegram's 4,096
are covered by it). The extra wait is the difference. Printed: median and p99 of both and of
the difference, and the ratio with/without; then the e-mail and noise regexes alone on each
capped text (the tests check what they are given, this what they cost).

Bar (issue 13): no other customer waits more than 50 ms for the long word.

    python benchmarks/long_word_wait.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bot.app import App, build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from handlers.orders import looks_like_proof  # noqa: E402
from knowledge.language import _strip_noise  # noqa: E402

BAR_MS = 50.0
QUESTION = "How long does delivery take to Canada?"
WORDS = {
    "one long word": "a" * 40_000,
    "at signs": "a@" * 20_000,
    "digits": "9" * 40_000,
    "numbers": " ".join(f"{n:05d}" for n in range(6_600)),  # 40,000 characters of tokens
}
WARM_UP = 10


def batch_ms(app: App, messages: list[IncomingMessage]) -> float:
    started = time.perf_counter()
    app.router.handle_batch(messages)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Settings(store={"url": f"sqlite:///{Path(folder) / 'bench.db'}"}))
        try:
            for name, word in WORDS.items():
                alone: list[float] = []
                together: list[float] = []
                for n in range(args.rounds + WARM_UP):
                    other = IncomingMessage.from_text(
                        "slack", f"O{name}{n}", f"CO{n}", QUESTION, language_hint="en"
                    )
                    again = IncomingMessage.from_text(
                        "slack", f"P{name}{n}", f"CP{n}", QUESTION, language_hint="en"
                    )
                    long = IncomingMessage.from_text("slack", f"L{name}{n}", f"CL{n}", word)
                    first = batch_ms(app, [other])
                    second = batch_ms(app, [long, again])
                    if n >= WARM_UP:
                        alone.append(first)
                        together.append(second)
                extra = sorted(t - a for t, a in zip(together, alone, strict=True))
                p99 = extra[int(0.99 * (len(extra) - 1))]
                base, both = statistics.median(alone), statistics.median(together)
                print(
                    f"{name}: alone median {base:.1f} ms, with the word {both:.1f} ms "
                    f"(x{both / base:.2f}); "
                    f"extra wait median {statistics.median(extra):.1f} ms, p99 {p99:.1f} ms "
                    f"(bar {BAR_MS:.0f} ms: {'met' if p99 <= BAR_MS else 'NOT met'})"
                )
            for name, word in WORDS.items():
                text = IncomingMessage.from_text("slack", "R", "CR", word).text  # capped
                for reader, read in (("e-mail regex", looks_like_proof), ("noise", _strip_noise)):
                    best = min(_ms(read, text) for _ in range(5))
                    print(f"{name}: {reader} on the capped text, fastest of 5: {best:.2f} ms")
        finally:
            app.close()


def _ms(work: Callable[[str], object], text: str) -> float:
    started = time.perf_counter()
    work(text)
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
