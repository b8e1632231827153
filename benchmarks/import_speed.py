"""How fast ``crossdesk import orders`` writes a big export, and how much memory it takes.

The file is the demo shop's orders (``store/demo_export.py``, the generator behind
``crossdesk demo-data``) written as the CSV a shop exports, one row per order line, in a
temporary folder. The real command line imports it into a fresh SQLite file (or the database
of ``--url``) in a child process, twice:

* the first import (every order new), and
* the re-import of the same file (the update path: every order exists), and

for each the wall time and the child's peak RSS are printed. Bars (issue 14 point 6, issue 13
point 6): re-import of 333k lines under 60 s; peak RSS under 500 MB (run with
``--lines 1000000`` for the 1M-row bar).

    python benchmarks/import_speed.py [--lines 333000] [--url sqlite:///...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.demo_export import write_demo_orders  # noqa: E402

REIMPORT_BAR_S = 60.0
RSS_BAR_MB = 500.0


def run_import(path: Path, url: str) -> tuple[float, float, str]:
    """Import ``path`` with the real CLI in a child: (seconds, peak RSS in MB, its output)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
    environment["CROSSDESK_STORE__URL"] = url
    environment["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "import", "orders", str(path)],
        cwd=path.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the import failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024, output.strip()


def main() -> int:
    """Generate the file, import it twice, print the figures; exit 1 if a bar is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=333_000, help="order lines in the file")
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossdesk-import-bench-") as folder:
        path = Path(folder) / "orders.csv"
        started = time.perf_counter()
        lines = write_demo_orders(path, args.lines)
        size = path.stat().st_size / 1e6
        print(
            f"file: {lines:,} order lines, {size:.0f} MB, "
            f"made in {time.perf_counter() - started:.1f} s"
        )
        url = args.url or f"sqlite:///{Path(folder) / 'crossdesk.db'}"
        figures = {}
        for name in ("first import", "re-import"):
            seconds, rss, output = run_import(path, url)
            figures[name] = (seconds, rss)
            print(
                f"{name}: {seconds:.1f} s, {lines / seconds:,.0f} lines/s, "
                f"peak RSS {rss:.0f} MB ({output})"
            )
    seconds, _ = figures["re-import"]
    peak = max(rss for _, rss in figures.values())
    failed = []
    if args.lines <= 333_000 and seconds > REIMPORT_BAR_S:
        failed.append(f"re-import {seconds:.1f} s > {REIMPORT_BAR_S:.0f} s")
    if peak > RSS_BAR_MB:
        failed.append(f"peak RSS {peak:.0f} MB > {RSS_BAR_MB:.0f} MB")
    print("FAILED: " + "; ".join(failed) if failed else "bars met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
