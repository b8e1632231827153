"""The live bot and the store's writers on one SQLite file: an import, a held write lock.

An import commits in chunks, so a customer asking questions through the router while
``crossdesk import orders`` runs in another process is answered between two chunks, right
and quickly (issue 14 point 6). A store that stays locked longer than the busy timeout makes
the bot say "one moment", never the "I did not understand" fallback.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App, Knowledge, build_app
from bot.config import Settings
from handlers.messages import IncomingMessage, Reply
from store.clock import ManualClock
from store.demo_export import write_demo_orders
from store.models import Order

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    ("How long does shipping take?", "en"),
    ("Wie lange dauert der Versand?", "de"),
    ("¿Cuánto tarda el envío?", "es"),
    ("Combien de temps prend la livraison ?", "fr"),
    ("Can I return an item?", "en"),
]
MEDIAN_BAR_S = 1.0


def _app(db: Path, clock: ManualClock, knowledge: Knowledge, **store: object) -> App:
    settings = Settings(store={"url": f"sqlite:///{db}", **store})
    return build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)


def _ask(app: App, user: str, text: str, hint: str) -> list[Reply]:
    message = IncomingMessage.from_text("console", user, user, text, language_hint=hint)
    return app.router.handle(message)


def _fallbacks(app: App) -> set[str]:
    texts = app.services.texts
    return {
        texts.get(key, language)
        for key in ("fallback.text", "fallback.busy")
        for language in app.services.support.languages
    }


def _orders(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(Order)) or 0


def test_customers_are_answered_while_an_import_writes(
    tmp_path: Path, clock: ManualClock, knowledge: Knowledge
) -> None:
    db = tmp_path / "crossdesk.db"
    app = _app(db, clock, knowledge)
    try:
        expected = {}  # what each question gets from an idle store
        for number, (text, hint) in enumerate(QUESTIONS):
            expected[text] = [r.text for r in _ask(app, f"warm{number}", text, hint)]
        fallbacks = _fallbacks(app)
        assert not any(set(replies) & fallbacks for replies in expected.values())
        export = tmp_path / "orders.csv"
        lines = write_demo_orders(export, 40_000)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
        environment |= {"CROSSDESK_STORE__URL": f"sqlite:///{db}", "PYTHONPATH": str(ROOT)}
        importer = subprocess.Popen(
            [sys.executable, "-m", "bot", "import", "orders", str(export)],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        waits, seen = [], []  # each question's wait, and the orders stored when it was asked
        while importer.poll() is None:
            text, hint = QUESTIONS[len(waits) % len(QUESTIONS)]
            seen.append(_orders(app))
            started = time.perf_counter()
            replies = _ask(app, f"c{len(waits)}", text, hint)
            waits.append(time.perf_counter() - started)
            assert [r.text for r in replies] == expected[text], f"question {len(waits)} went wrong"
        out, err = importer.communicate(timeout=60)
        assert importer.returncode == 0, err.decode()
        assert f"from {lines} rows" in out.decode()
        total, asked = _orders(app), len(waits)
        mid_import = sum(0 < stored < total for stored in seen)  # after a chunk, before the end
        print(
            f"\n{asked} questions during the import of {lines:,} lines ({total:,} orders): "
            f"median wait {statistics.median(waits) * 1000:.0f} ms, "
            f"max {max(waits) * 1000:.0f} ms; {mid_import} asked between two chunks"
        )
        assert mid_import >= 3, "no question was answered while the import was writing"
        assert statistics.median(waits) < MEDIAN_BAR_S
    finally:
        app.close()


def test_a_locked_store_asks_for_a_moment_and_then_answers(
    tmp_path: Path, clock: ManualClock, knowledge: Knowledge
) -> None:
    db = tmp_path / "crossdesk.db"
    app = _app(db, clock, knowledge, busy_timeout=0.2)
    try:
        question = ("Wie lange dauert der Versand?", "de")
        normal = [r.text for r in _ask(app, "idle", *question)]
        writer = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            busy = _ask(app, "waiting", *question)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert [r.text for r in busy] == [app.services.texts.get("fallback.busy", "de")]
        assert busy[0].language == "de"
        assert [r.text for r in _ask(app, "waiting", *question)] == normal  # sent again
    finally:
        app.close()
