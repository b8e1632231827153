"""The command line as a user meets it: subprocesses, stdin, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = (
    "order_id,placed_at,customer_email,customer_name,country,postcode,language,status,"
    "total,currency,carrier,tracking_number,shipped_at,promised_delivery,delivered_at,"
    "last_scan_at,sku,quantity\n"
)
ORDER = (
    "555001,2026-03-01T09:00:00,mia@example.com,Mia,DE,10115,de,in_transit,42.00,EUR,DHL,"
    "JD0123456789,2026-03-02T10:00:00,2026-03-12,,2026-03-04T07:00:00,NW-LAMP-WHT,1\n"
)

PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def crossdesk(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CROSSDESK_") and k.lower() not in PROXY_VARIABLES
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = crossdesk(tmp_path, "--help")
    out = result.stdout.decode()
    assert result.returncode == 0
    for command in (
        "init",
        "chat",
        "run",
        "db",
        "import",
        "demo-data",
        "classify",
        "eval",
        "kb",
        "alerts",
    ):
        assert f"    {command}" in out


def test_import_then_chat_order_lookup_with_verification(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(HEADER + ORDER, encoding="utf-8")
    imported = crossdesk(tmp_path, "import", "orders", "orders.csv")
    assert imported.returncode == 0, imported.stderr
    assert b"1 created" in imported.stdout
    chat = crossdesk(
        tmp_path, "chat", stdin="/order 555001\nwrong@example.com\n/order 555001\nMIA@example.com\n"
    )
    assert chat.returncode == 0, chat.stderr
    replies = chat.stdout.decode().split("bot: ")[1:]
    assert len(replies) == 4
    assert all("555001" in reply for reply in replies)
    assert not any("JD0123456789" in reply for reply in replies[:3])  # no details before proof
    assert "JD0123456789" in replies[3] and "DHL" in replies[3]
    assert "Mar 12, 2026" in replies[3] and "2026-03-12" not in replies[3]  # Babel's English
    assert "(created the demo shop" not in chat.stderr.decode()  # the store had orders


def test_empty_and_huge_messages_get_answers_not_tracebacks(tmp_path: Path) -> None:
    huge = "a" * (10 * 1024 * 1024)
    chat = crossdesk(tmp_path, "chat", stdin=f"\n{huge}\n\x00\x01binary\nhello\n")
    assert chat.returncode == 0
    assert b"Traceback" not in chat.stderr
    replies = [line for line in chat.stdout.decode().splitlines() if line.startswith("bot:")]
    assert len(replies) >= 4
    assert "empty" in replies[0]


def test_staff_chat_can_use_staff_commands_customer_cannot(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(HEADER + ORDER, encoding="utf-8")
    assert crossdesk(tmp_path, "import", "orders", "orders.csv").returncode == 0
    staff = crossdesk(tmp_path, "chat", "--staff", stdin="/order 555001\n")
    assert "mia@example.com" in staff.stdout.decode()
    customer = crossdesk(tmp_path, "chat", stdin="/stock NW-LAMP-WHT\n/tickets\n")
    assert "mia@example.com" not in customer.stdout.decode()
    assert customer.stdout.decode().count("staff") >= 2


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ("[telegram]\nmode = 'carrier-pigeon'\n", "telegram.mode"),
        ("[store\n", "TOML"),
        ("[slack]\nsigning_secret = 'x'\n", "CROSSDESK_SLACK__SIGNING_SECRET"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, config: str, needle: str) -> None:
    (tmp_path / "crossdesk.toml").write_text(config, encoding="utf-8")
    result = crossdesk(tmp_path, "chat")
    err = result.stderr.decode()
    assert result.returncode == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    result = crossdesk(
        tmp_path,
        "chat",
        env={"CROSSDESK_STORE__URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "store.url" in err and "Traceback" not in err


def test_bad_csv_reports_file_line_and_reason(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(HEADER + ORDER.replace("42.00", "lots"), encoding="utf-8")
    result = crossdesk(tmp_path, "import", "orders", "orders.csv")
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "orders.csv:2: total" in err and "nothing was imported" in err
    assert "Traceback" not in err


def test_init_writes_a_valid_starter_config(tmp_path: Path) -> None:
    assert crossdesk(tmp_path, "init").returncode == 0
    assert crossdesk(tmp_path, "init").returncode == 1  # exists: refuses without --force
    assert crossdesk(tmp_path, "db", "upgrade").returncode == 0


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = crossdesk(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"crossdesk {version('crossdesk')}"


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "other.toml", "chat"),
        ("chat", "--config", "other.toml"),
        ("-v", "chat", "--config", "other.toml"),
    ],
)
def test_config_option_before_or_after_the_command(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "other.toml").write_text('[translation]\nprovider = "libre"\n', "utf-8")
    (tmp_path / "crossdesk.toml").write_text("[translation]\nprovider = 'none'\n", "utf-8")
    result = crossdesk(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert 'staff translation is on (translation.provider = "libre")' in result.stdout.decode()


@pytest.mark.parametrize(
    "args",
    [
        ("db", "--config", "missing.toml", "upgrade"),
        ("db", "upgrade", "--config", "missing.toml"),
        ("--config", "missing.toml", "kb", "check"),
    ],
)
def test_config_option_of_nested_commands(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = crossdesk(tmp_path, *args)
    assert result.returncode == 2
    assert "missing.toml: no such config file" in result.stderr.decode()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("demo-data", "--today", "2026/12/01"), "expected a date as YYYY-MM-DD"),
        (("demo-data", "--today", "2026-02-30"), "'2026-02-30' is not a real date"),
        (("demo-data", "--orders", "-5"), "argument --orders: must be at least 0, got -5"),
        (("demo-data", "--products", "0"), "argument --products: must be at least 1, got 0"),
        (("demo-data", "--seed", "abc"), "argument --seed: expected a whole number, got 'abc'"),
        (("eval", "missing.jsonl"), "missing.jsonl: no such file"),
        (("eval", "labelled.jsonl", "--min-expect", "95"), "must be from 0 to 1"),
        (("import", "orders", "missing.csv"), "missing.csv: no such file"),
        (("import", "customers", "labelled.jsonl"), "invalid choice: 'customers'"),
        (("kb", "check", "no-such-kb"), "no-such-kb: no such folder"),
        (("chat", "--user", ""), "argument --user: must not be empty"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    (tmp_path / "labelled.jsonl").write_text('{"text": "hi"}\n', encoding="utf-8")
    result = crossdesk(tmp_path, *args)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("crossdesk") and "--help" in err
    assert not (tmp_path / "crossdesk.db").exists()  # refused before anything was done


def test_demo_data_takes_its_anchor_date(tmp_path: Path) -> None:
    result = crossdesk(
        tmp_path, "demo-data", "--orders", "0", "--products", "1", "--today", "2026-03-10"
    )
    assert result.returncode == 0, result.stderr
    assert b"0 orders" in result.stdout and b"1 products" in result.stdout
