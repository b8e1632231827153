"""``crossdesk alerts run-once`` and ``list`` as a cron job runs them: subprocesses on a demo
shop, the console printing grouped alerts when no chat platform is configured."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from tests.bot.test_cli import crossdesk

ENGLISH = {"CROSSDESK_SUPPORT__STAFF_LANGUAGE": "en"}


def test_run_once_prints_grouped_alerts_once_then_list_shows_them(tmp_path: Path) -> None:
    made = crossdesk(tmp_path, "demo-data", "--orders", "600", "--products", "60",
                     "--today", date.today().isoformat())  # fmt: skip
    assert made.returncode == 0, made.stderr

    first = crossdesk(tmp_path, "alerts", "run-once", env=ENGLISH)
    assert first.returncode == 0, first.stderr
    out = first.stdout.decode()
    messages = re.findall(r"^\[staff\] (.*)$", out, flags=re.MULTILINE)
    assert messages and len(messages) <= 7  # one message per rule, however many orders
    unshipped = next(m for m in messages if m.startswith("🔔 Unshipped orders:"))
    count = int(re.search(r": (\d+) to look at", unshipped).group(1))  # type: ignore[union-attr]
    assert count > 10  # many late orders...
    assert len(re.findall(r"^🔴 /order|^🟠 /order", out, flags=re.MULTILINE)) >= 10
    assert f"… and {count - 10} more" in out  # ...listed ten at a time
    assert "[1] Acknowledge  [2] Silence 4h" in out
    assert "unshipped:" in first.stderr.decode() and "Traceback" not in first.stderr.decode()

    second = crossdesk(tmp_path, "alerts", "run-once", env=ENGLISH)
    assert second.returncode == 0 and "[staff]" not in second.stdout.decode()

    listed = crossdesk(tmp_path, "alerts", "list", env=ENGLISH)
    assert listed.returncode == 0
    assert f"Unshipped orders: {count} active" in listed.stdout.decode()


def test_run_once_with_a_broken_store_is_one_clear_line(tmp_path: Path) -> None:
    result = crossdesk(tmp_path, "alerts", "run-once",
                       env={"CROSSDESK_STORE__URL": "sqlite:////no/such/dir/x.db"})  # fmt: skip
    assert result.returncode == 1
    assert b"store.url" in result.stderr and b"Traceback" not in result.stderr
