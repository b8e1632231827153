"""The fake Bot API in a child process, for harnesses whose bots run elsewhere (benchmarks,
real ``crossdesk run`` processes): started with ``python -m tests.fakes.telegram_api`` and
driven through its ``/_fake/...`` control endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parents[2]


class FakeServer:
    """The fake Bot API in a child process, driven through its /_fake endpoints."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def control(self, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = Request(
            f"{self.url}/_fake/{path}", data=data, method="GET" if data is None else "POST"
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def sent(self) -> dict[str, list[str]]:
        """The texts the bots sent, by chat id."""
        result: dict[str, list[str]] = self.control("sent")
        return result

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
