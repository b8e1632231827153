"""``crossdesk chat --staff`` evaluates the alert rules at start: ``/alerts`` is never empty."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_cli import HEADER, crossdesk

# paid long before any day these tests run on, never shipped: the unshipped rule fires
UNSHIPPED = (
    "SZ-555002,2026-03-01T09:00:00,ola@example.com,Ola,SE,11122,sv,paid,42.00,EUR,,,,,,,"
    "NW-LAMP-WHT,1\n"
)


def test_staff_chat_lists_alerts_evaluated_at_start(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(HEADER + UNSHIPPED, encoding="utf-8")
    assert crossdesk(tmp_path, "import", "orders", "orders.csv").returncode == 0
    staff = crossdesk(
        tmp_path,
        "chat",
        "--staff",
        stdin="/alerts\n",
        env={"CROSSDESK_SUPPORT__STAFF_LANGUAGE": "en"},
    )
    out = staff.stdout.decode()
    assert staff.returncode == 0, staff.stderr.decode()
    told, listing = out.split("bot: ", 1)
    assert "[staff" in told and "/order SZ-555002" in told  # the alert, printed at start
    assert "/order SZ-555002" in listing and "No active alerts." not in listing
    assert "not shipped" in listing  # its lateness


def test_customer_chat_does_not_evaluate_alerts(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(HEADER + UNSHIPPED, encoding="utf-8")
    assert crossdesk(tmp_path, "import", "orders", "orders.csv").returncode == 0
    customer = crossdesk(tmp_path, "chat", stdin="hello\n")
    assert customer.returncode == 0 and "SZ-555002" not in customer.stdout.decode()
