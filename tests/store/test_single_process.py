"""SQLite serves one bot process: a second ``crossdesk run`` on the same file is refused with
one line naming the first one's pid; PostgreSQL, which replicas share, is never locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from store.single_process import StoreInUse, only_process, sqlite_file


def test_a_second_holder_of_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with only_process(url):
        with pytest.raises(StoreInUse) as refused, only_process(url):
            pass
        assert f"pid {os.getpid()}" in str(refused.value)
        assert "store.url" in str(refused.value) and "PostgreSQL" in str(refused.value)
        with only_process(f"sqlite:///{tmp_path / 'other.db'}"):  # another file is free
            pass
    with only_process(url):  # released when the first one stopped
        pass


def test_postgresql_and_memory_stores_are_not_locked() -> None:
    assert sqlite_file("postgresql+psycopg://postgres@127.0.0.1/crossdesk") is None
    assert sqlite_file("sqlite://") is None
    shared = "postgresql+psycopg://postgres@127.0.0.1/crossdesk"
    with only_process(shared), only_process(shared):  # replicas share it
        pass


def test_crossdesk_run_on_a_sqlite_file_in_use_exits_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    config = tmp_path / "crossdesk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{database}"\n[telegram]\nstaff_chat_id = -1001\n',
        encoding="utf-8",
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
    environment["CROSSDESK_TELEGRAM__TOKEN"] = "123:not-used"
    with only_process(f"sqlite:///{database}"):  # the bot already running
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            capture_output=True,
            cwd=tmp_path,
            env=environment,
            timeout=120,
        )
    errors = result.stderr.decode()
    assert result.returncode != 0
    assert f"pid {os.getpid()}" in errors and "Traceback" not in errors
    assert len(errors.strip().splitlines()) == 1
