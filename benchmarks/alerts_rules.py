"""Benchmark: one evaluation of every alert rule over a big demo shop, on one core.

    python benchmarks/alerts_rules.py                      # 1,000,000 and 100,000 orders
    python benchmarks/alerts_rules.py --orders 200000 --small 20000

The demo shops (``store.demo.generate_demo_shop``, 100,000 products, seed 7, anchored on
2026-03-10) are generated once into SQLite files and cached in ``--dir`` (default
``$CROSSDESK_BENCH_DIR`` or ``<tmp>/crossdesk-bench``). Each shop is then measured in a fresh
process pinned to one CPU, so that memory figures are that process's own:

- **bare SQL**: the rules' SELECTs (compiled by SQLAlchemy with literal values), executed and
  fetched through the plain ``sqlite3`` module: the baseline;
- **rules**: every rule's ``evaluate()`` streamed to the end (SQLAlchemy, Alert objects);
- **lifecycle**: ``AlertEngine.run_all()``, state, grouping, rendering and outbox included:
  first on an empty alert state (every alert new), then again (steady state: nothing to tell),
  then after the repeat interval (every alert repeated).

Times are the median of three rounds (the lifecycle rounds run once each), measured without
tracemalloc, which slows every allocation. Memory is the tracemalloc peak of Python allocations
in one more, traced, rule evaluation and first lifecycle run, and the process's peak RSS;
compare the two shop sizes to see it does not grow with the number of orders. The bar: all
rules in at most 2 s for 1,000,000 orders.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 10, 0)
PRODUCTS = 100_000
SEED = 7
ROUNDS = 3
BAR_SECONDS = 2.0


def shop_path(folder: Path, orders: int, products: int) -> Path:
    return folder / f"demo-{orders}-{products}-s{SEED}-{TODAY.isoformat()}.db"


def ensure_shop(folder: Path, orders: int, products: int) -> Path:
    """The cached demo shop file, generated first if missing."""
    from store.db import create_store_engine, session_factory, upgrade
    from store.demo import generate_demo_shop

    path = shop_path(folder, orders, products)
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    print(f"generating {orders:,} orders and {products:,} products into {path} ...", flush=True)
    started = time.perf_counter()
    engine = create_store_engine(f"sqlite:///{partial}")
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        generate_demo_shop(session, orders=orders, products=products, seed=SEED, today=TODAY)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    partial.rename(path)
    print(f"  generated in {time.perf_counter() - started:.0f}s", flush=True)
    return path


# --- measuring, in a fresh process --------------------------------------------------------


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def measure(path: Path) -> dict[str, Any]:
    """Every figure for one shop file; runs in its own process."""
    import yaml
    from sqlalchemy import delete

    from alerts.lifecycle import AlertEngine
    from alerts.render import AlertRenderer
    from alerts.rules import build_rules
    from alerts.settings import AlertSettings
    from knowledge.texts import Texts
    from store.clock import ManualClock
    from store.db import create_store_engine, session_factory, upgrade
    from store.models import AlertState, OutboxMessage, Silence

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    engine = create_store_engine(f"sqlite:///{path}")
    upgrade(engine)  # brings an older cached file to the current indexes
    sessions = session_factory(engine)

    def forget_alert_state() -> None:
        with sessions() as session, session.begin():
            for table in (AlertState, OutboxMessage, Silence):
                session.execute(delete(table))

    forget_alert_state()  # of earlier runs
    settings = AlertSettings()
    rules = build_rules(settings)

    # bare SQL: the same SELECTs through the sqlite3 module
    compiled = {
        name: str(rule.query(NOW).compile(engine, compile_kwargs={"literal_binds": True}))
        for name, rule in rules.items()
    }
    plain = sqlite3.connect(path)
    sql_rows: dict[str, int] = {}
    sql_rounds: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for name, sql in compiled.items():
            cursor = plain.execute(sql)
            count = 0
            while batch := cursor.fetchmany(2000):
                count += len(batch)
            sql_rows[name] = count
        sql_rounds.append(time.perf_counter() - started)
    plain.close()

    # the rules: stream every alert
    per_rule: dict[str, list[float]] = {name: [] for name in rules}
    alerts: dict[str, int] = {}
    rule_rounds: list[float] = []
    for _ in range(ROUNDS):  # timed untraced: tracemalloc slows every allocation several-fold
        started = time.perf_counter()
        for name, rule in rules.items():
            began = time.perf_counter()
            with sessions() as session:
                alerts[name] = sum(1 for _ in rule.evaluate(session, NOW))
            per_rule[name].append(time.perf_counter() - began)
        rule_rounds.append(time.perf_counter() - started)
    tracemalloc.start()  # one more round, traced, for the memory figure
    for rule in rules.values():
        with sessions() as session:
            sum(1 for _ in rule.evaluate(session, NOW))
    rules_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    mismatched = {n: (alerts[n], sql_rows[n]) for n in rules if alerts[n] != sql_rows[n]}
    assert not mismatched, f"rules and bare SQL disagree: {mismatched}"

    # the lifecycle: every alert new, then steady, then all repeated
    locale = Path(__file__).resolve().parent.parent / "knowledge" / "locales" / "en.yaml"
    texts = Texts({"en": yaml.safe_load(locale.read_text(encoding="utf-8"))})
    clock = ManualClock(NOW)
    alert_engine = AlertEngine(
        sessions, settings, AlertRenderer(texts, "en", settings), configured=["console"],
        clock=clock, rules=rules,
    )  # fmt: skip
    lifecycle: dict[str, dict[str, float]] = {}
    for label, advance in (
        ("first", 0),
        ("steady", 1),
        ("repeat", settings.repeat_interval_minutes),
    ):
        clock.advance(minutes=advance)
        reports = alert_engine.run_all()
        lifecycle[label] = {
            "seconds": sum(r.seconds for r in reports),
            "rule_seconds": sum(r.rule_seconds for r in reports),
            "told": sum(r.told for r in reports),
            "messages": sum(r.messages for r in reports),
        }
    forget_alert_state()  # the first run once more, traced, for the memory figure
    tracemalloc.start()
    alert_engine.run_all()
    lifecycle_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    engine.dispose()
    return {
        "sql_seconds": _median(sql_rounds),
        "rules_seconds": _median(rule_rounds),
        "per_rule": {name: _median(samples) for name, samples in per_rule.items()},
        "alerts": alerts,
        "rules_peak_mb": rules_peak / 2**20,
        "lifecycle": lifecycle,
        "lifecycle_peak_mb": lifecycle_peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_in_child(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------


def report(sizes: list[int], results: dict[int, dict[str, Any]]) -> bool:
    """Print one column per shop size; True if the bar is met."""
    big = max(sizes)

    def row(label: str, cell: Any) -> None:
        print(f"{label:30}" + "".join(f"{cell(results[size]):>20}" for size in sizes))

    print()
    print(f"{'':30}" + "".join(f"{f'{size:,} orders':>20}" for size in sizes))
    row("bare SQL (sqlite3), s", lambda r: f"{r['sql_seconds']:.3f}")
    row("all rules (evaluate), s", lambda r: f"{r['rules_seconds']:.3f}")
    row("  rules / bare SQL", lambda r: f"{r['rules_seconds'] / r['sql_seconds']:.2f}x")
    for name in results[big]["per_rule"]:
        row(f"  {name}", lambda r, n=name: f"{r['per_rule'][n]:.3f}s {r['alerts'][n]:>7,}")
    for label in ("first", "steady", "repeat"):
        row(f"lifecycle, {label} run, s", lambda r, k=label: f"{r['lifecycle'][k]['seconds']:.3f}")
        row("  of which rules, s", lambda r, k=label: f"{r['lifecycle'][k]['rule_seconds']:.3f}")
        row(
            "  alerts told / messages",
            lambda r, k=label: f"{r['lifecycle'][k]['told']:,} / {r['lifecycle'][k]['messages']}",
        )
    row("peak Python, rules, MB", lambda r: f"{r['rules_peak_mb']:.1f}")
    row("peak Python, lifecycle, MB", lambda r: f"{r['lifecycle_peak_mb']:.1f}")
    row("peak RSS, MB", lambda r: f"{r['max_rss_mb']:.0f}")
    seconds = results[big]["rules_seconds"]
    ok = seconds <= BAR_SECONDS
    verdict = "within" if ok else "OVER"
    print(f"\nbar: all rules over {big:,} orders in {seconds:.2f}s ({verdict} {BAR_SECONDS:.0f}s)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="the size to compare with")
    parser.add_argument("--products", type=int, default=PRODUCTS)
    default_dir = (
        os.environ.get("CROSSDESK_BENCH_DIR") or Path(tempfile.gettempdir()) / "crossdesk-bench"
    )
    parser.add_argument("--dir", type=Path, default=default_dir)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    sizes = sorted({args.small, args.orders})
    results = {}
    for size in sizes:
        path = ensure_shop(Path(args.dir), size, args.products)
        print(f"measuring {size:,} orders ...", flush=True)
        results[size] = measure_in_child(path)
    return 0 if report(sizes, results) else 1


if __name__ == "__main__":
    sys.exit(main())
