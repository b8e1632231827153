"""Progress bars of long commands: drawn on a terminal, absent from pipes, files and cron."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from store.demo_export import write_demo_orders

ROOT = Path(__file__).resolve().parents[2]


def _environment(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
    environment["CROSSDESK_STORE__URL"] = f"sqlite:///{tmp_path / 'crossdesk.db'}"
    environment["PYTHONPATH"] = str(ROOT)
    return environment


def _on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``crossdesk args`` with stdout and stderr on a pseudo-terminal; (exit code, output)."""
    controller, terminal = pty.openpty()
    # rows, columns: a terminal window's size (a fresh pseudo-terminal has none)
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=_environment(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    output = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return child.wait(timeout=120), output.decode(errors="replace")


def test_an_import_shows_its_progress_on_a_terminal_only(tmp_path: Path) -> None:
    export = tmp_path / "orders.csv"
    lines = write_demo_orders(export, 6_000)
    code, shown = _on_a_terminal(tmp_path, "import", "orders", str(export))
    assert code == 0, shown
    assert "checking" in shown and "writing" in shown and "\r" in shown  # tqdm's bars
    assert f"from {lines} rows" in shown
    piped = subprocess.run(
        [sys.executable, "-m", "bot", "import", "orders", str(export)],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stderr == b""
    assert piped.stdout.decode().splitlines() == [
        f"orders: 0 created, {piped.stdout.decode().split()[3]} updated from {lines} rows"
    ]


def test_demo_data_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    code, shown = _on_a_terminal(tmp_path, "demo-data", "--orders", "30000", "--products", "20")
    assert code == 0, shown
    assert "generating" in shown and "demo shop: 30000 orders" in shown
