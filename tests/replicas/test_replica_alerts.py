"""Alerts with three real ``crossdesk run`` replicas on one PostgreSQL store: one leader runs
the rules (every minute here), the others only serve customers. Late orders found at start
are announced once; then two replicas are killed (kill -9) and the survivor leads, whichever
led before; late orders imported before the next run are announced exactly once per rule, and
every alert notification is one message, once, whichever replica sent it.

Slow (two scheduled runs, a minute apart, plus start-up): the bar's case at the smallest size.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.alerts.test_run_once_delivery import demo_shop, headline, queued
from tests.bot.test_cli import crossdesk
from tests.fakes.telegram_process import FakeServer
from tests.replicas.harness import STAFF_CHAT, Replica
from tests.store.test_hostile_imports import COLUMNS, GOOD

REPLICAS = 3
RUN_EVERY_MINUTES = 1
WAIT = 200.0  # start-up, the run at start and the next scheduled run, on a busy machine
NEW_LATE = [f"LATE-{n}" for n in range(1, 4)]


def _late_orders_file(folder: Path) -> Path:
    """Three orders shipped three weeks ago, promised for ten days ago, last scanned nine days
    ago: late, and their tracking quiet (two rules)."""
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    lines = [",".join(COLUMNS)]
    for n, order_id in enumerate(NEW_LATE):
        row = GOOD | {
            "order_id": order_id,
            "customer_email": f"late{n}@example.com",
            "placed_at": (now - timedelta(days=22)).isoformat(),
            "shipped_at": (now - timedelta(days=21)).isoformat(),
            "promised_delivery": (now - timedelta(days=10)).date().isoformat(),
            "last_scan_at": (now - timedelta(days=9)).isoformat() + "Z",
            "tracking_number": f"JD{n:010d}",
        }
        lines.append(",".join(row[column] for column in COLUMNS))
    path = folder / "late.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(1.0)


def _rule_of(notification: str) -> str:
    """The rule a notification is from: its headline up to the colon (any language)."""
    return notification.splitlines()[0].replace("\uff1a", ":").split(":")[0]


def _staff_messages(fake: FakeServer) -> list[str]:
    return fake.sent().get(str(STAFF_CHAT), [])


async def test_three_replicas_announce_each_late_order_once(
    db_url: str, tmp_path: Path, fake: FakeServer
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share a PostgreSQL store; SQLite serves one process")
    demo_shop(tmp_path, db_url)
    settings = {"alerts": {"enabled": True, "every_minutes": RUN_EVERY_MINUTES}}
    replicas = [
        Replica(tmp_path, f"r{n}", db_url, fake, webhook=True, settings=settings)
        for n in range(REPLICAS)
    ]
    for replica in replicas:
        replica.start()
    try:
        for replica in replicas:
            await replica.ready(fake)

        def all_sent() -> bool:
            rows = queued(db_url)
            return bool(rows) and all(row.sent_at is not None for row in rows)

        await _until(all_sent, "the alerts found at start, delivered")
        found_at_start = len(queued(db_url))
        for replica in replicas[:-1]:  # kill -9 two of them: the last one leads whatever led
            replica.kill()
        imported = crossdesk(tmp_path, "import", "orders", str(_late_orders_file(tmp_path)),
                             env={"CROSSDESK_STORE__URL": db_url})  # fmt: skip
        assert imported.returncode == 0, imported.stderr

        def new_ones_announced() -> bool:
            staff = _staff_messages(fake)
            return all(any(order in text for text in staff) for order in NEW_LATE)

        await _until(new_ones_announced, "the imported late orders, announced")
        await _until(all_sent, "every alert delivered")
        await asyncio.sleep(3)  # a second announcement would come now
    finally:
        exit_code = replicas[-1].stop()
        for replica in replicas[:-1]:
            replica.stop()  # (killed already, unless the test failed before)
    staff = _staff_messages(fake)
    rows = queued(db_url)
    starts = Counter(text.splitlines()[0] for text in staff)
    print(f"{REPLICAS} replicas, alerts: {found_at_start} notifications at start, {len(rows)} "
          f"in all, {len(staff)} staff messages")  # fmt: skip
    assert exit_code == 0
    assert len(rows) > found_at_start  # the imported orders were a new notification
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)
    assert all(starts[headline(row)] == 1 for row in rows), starts  # each sent once
    assert len(staff) == len(rows)  # nothing else, nothing twice
    for order in NEW_LATE:  # once per rule it breaks (late delivery, tracking gone quiet)
        rules = [_rule_of(text) for text in staff if order in text]
        assert rules and len(rules) == len(set(rules)), (order, rules)
    assert sum(replica.tracebacks() for replica in replicas) == 0
