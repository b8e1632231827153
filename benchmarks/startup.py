"""How long ``crossdesk chat`` takes to answer its first message, and how much memory it takes.

Each run starts the real command in a fresh process (the demo shop in a temporary folder,
caches warm after a first run that is not counted), sends one customer question on standard
input and times it until the answer is printed: interpreter start, imports, the knowledge
base and its indexes, the language detectors, the sentence encoder and the first answer. The
baseline in the same run is ``crossdesk --help`` (the interpreter and the imports alone).
Also printed: the peak RSS of the chat processes.

Bar (issue 11): start-up of ``crossdesk chat`` <= 5 s on a warm cache.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BAR_SECONDS = 5.0
QUESTION = "how long does delivery to Canada take?\n"


def crossdesk() -> list[str]:
    found = shutil.which("crossdesk")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def first_answer_seconds(folder: Path) -> float:
    """Seconds from the start of ``crossdesk chat`` to the end of its first answer."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*crossdesk(), "chat"],
        cwd=folder,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(QUESTION)
    process.stdin.flush()
    for line in process.stdout:
        if line.startswith("bot:") or "bot:" in line:
            break
    elapsed = time.perf_counter() - started
    process.stdin.close()
    process.wait(timeout=30)
    return elapsed


def help_seconds(folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run([*crossdesk(), "--help"], cwd=folder, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        first_answer_seconds(folder)  # makes the demo shop and warms the caches
        chat = sorted(first_answer_seconds(folder) for _ in range(args.runs))
        baseline = sorted(help_seconds(folder) for _ in range(args.runs))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    median, base = statistics.median(chat), statistics.median(baseline)
    print(f"crossdesk --help (baseline): median {base:.2f} s")
    print(
        f"crossdesk chat, first answer: median {median:.2f} s, worst {chat[-1]:.2f} s "
        f"(x{median / base:.1f} of the baseline; bar {BAR_SECONDS:.0f} s: "
        f"{'met' if median <= BAR_SECONDS else 'NOT met'})"
    )
    print(f"peak RSS of a chat process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
