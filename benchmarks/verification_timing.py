"""Whether a wrong proof takes longer for an order that exists than for one that does not.

A customer who asks about an order is asked for the e-mail address or postcode on it; a wrong
one is answered alike for a real order and an unknown one. If answering took measurably longer
for a real order, the time alone would tell a guesser which order numbers exist (issue 13).

Through the router (``App.router.handle``, as every channel calls it), on a demo shop in a
SQLite file in a temporary folder (or the empty database ``--url`` names), each round has two
fresh customers: one asks ``/order <a real id>``, the other ``/order <an id no order has, of
the same length>``, and then each sends the same wrong e-mail address. Real and unknown take
turns going first. Between rounds a ``ManualClock`` moves past the guessing window, so no
limit trips and every wrong proof takes the same path as the first. Printed: median and p90
wall time of the wrong proof (and of the question before it), real and unknown, and the ratio
unknown / real; 1.00 is the aim. Timing is noisy, so tests assert no time: the statement
counts in ``tests/store/test_verification_timing.py`` are what guards this.

    python benchmarks/verification_timing.py [--rounds 2000] [--orders 2000] [--url URL]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from sqlalchemy import select  # noqa: E402

from bot.app import App, build_app, build_knowledge  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from store.clock import ManualClock  # noqa: E402
from store.demo import generate_demo_shop  # noqa: E402
from store.models import Order  # noqa: E402
from store.orders import FAILURE_WINDOW  # noqa: E402

WRONG_PROOF = "nobody-here@example.com"
WARM_UP = 50  # rounds measured and dropped: caches, the first statement compilations


def say(app: App, user: str, text: str) -> float:
    """Milliseconds the router takes to answer ``text`` from ``user``."""
    message = IncomingMessage.from_text("console", user, user, text)
    started = time.perf_counter()
    app.router.handle(message)
    return (time.perf_counter() - started) * 1000


def unknown_like(order_id: str, existing: set[str]) -> str:
    """An id of the same length and shape as ``order_id`` that no order has."""
    candidate = "9" * len(order_id)
    while candidate in existing:
        candidate = str(int(candidate) - 1).zfill(len(order_id))
    return candidate


def figures(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def run(url: str, rounds: int, orders: int) -> None:
    clock = ManualClock(datetime(2026, 3, 10, 10, 0))
    app = build_app(
        Settings(store={"url": url}),
        clock=clock,
        staff_channels=["console"],
        knowledge=build_knowledge(Settings()),
    )
    try:
        with app.sessions() as session, session.begin():
            generate_demo_shop(session, orders=orders, products=50, seed=7, today=date(2026, 3, 10))
        with app.sessions() as session:
            real_ids = list(session.scalars(select(Order.id).order_by(Order.id)))
        existing = set(real_ids)
        times: dict[tuple[str, str], list[float]] = {
            (step, kind): [] for step in ("ask", "proof") for kind in ("real", "unknown")
        }
        for n in range(WARM_UP + rounds):
            real = real_ids[n % len(real_ids)]
            pair = [("real", real), ("unknown", unknown_like(real, existing))]
            if n % 2:
                pair.reverse()  # interleaved: neither always goes first
            for kind, order_id in pair:
                user = f"{kind}-{n}"
                asked = say(app, user, f"/order {order_id}")
                proved = say(app, user, WRONG_PROOF)
                if n >= WARM_UP:
                    times["ask", kind].append(asked)
                    times["proof", kind].append(proved)
            clock.advance(seconds=FAILURE_WINDOW.total_seconds() + 60)  # no limit trips
    finally:
        app.close()
    backend = url.split(":", 1)[0]
    print(f"{rounds} rounds, {orders} orders, {backend}, ms per message through the router")
    print(f"{'':24}{'median':>10}{'p90':>10}")
    for step, label in (("proof", "wrong proof"), ("ask", "/order <id>")):
        medians = {}
        for kind in ("real", "unknown"):
            median, p90 = figures(times[step, kind])
            medians[kind] = (median, p90)
            print(f"{label + ', ' + kind + ' order':28}{median:>10.3f}{p90:>10.3f}")
        ratio_median = medians["unknown"][0] / medians["real"][0]
        ratio_p90 = medians["unknown"][1] / medians["real"][1]
        print(f"{label + ', unknown / real':28}{ratio_median:>10.2f}{ratio_p90:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--url", help="an empty database (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    if args.url:
        run(args.url, args.rounds, args.orders)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{Path(folder) / 'crossdesk.db'}", args.rounds, args.orders)


if __name__ == "__main__":
    main()
