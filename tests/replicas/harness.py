"""Real ``crossdesk run`` processes against the fake Bot API, for the replica and crash tests.

:class:`Replica` starts one bot process (``python -m bot run``) with its own config file: in
webhook mode it listens on its own port, as replicas behind a load balancer do; in polling mode
it fetches from the fake. :class:`LoadBalancer` posts updates to the replicas the way Telegram
and a load balancer would: to one replica, again to another when that one does not answer 200,
and sometimes again after a 200 (Telegram redelivers when an answer was slow).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.telegram_api import TOKEN
from tests.fakes.telegram_process import ROOT, FakeServer

SECRET = "replica-secret_42"
STAFF_CHAT = -1009876543210
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _toml(values: dict[str, dict[str, Any]]) -> str:
    lines = []
    for section, entries in values.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entries.items()]
    return "\n".join(lines) + "\n"


class Replica:
    """One ``crossdesk run`` process."""

    def __init__(
        self,
        folder: Path,
        name: str,
        store_url: str,
        fake: FakeServer,
        *,
        webhook: bool,
        settings: dict[str, dict[str, Any]] | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        """``settings`` adds to (or overrides) the config file's sections; ``environment``
        adds variables (secrets) to the process's environment."""
        self.name = name
        self.port = free_port() if webhook else None
        self.url = f"http://127.0.0.1:{self.port}/telegram" if webhook else None
        telegram: dict[str, Any] = {
            "base_url": fake.base_url,
            "base_file_url": f"{fake.url}/file/bot",
            "staff_chat_id": STAFF_CHAT,
            "rate_limit": False,
        }
        if webhook:
            telegram.update(
                mode="webhook",
                webhook_url=self.url,
                webhook_listen="127.0.0.1",
                webhook_port=self.port,
            )
        sections: dict[str, dict[str, Any]] = {
            "store": {"url": store_url},
            "telegram": telegram,
            "alerts": {"enabled": False},
        }
        for section, values in (settings or {}).items():
            sections[section] = {**sections.get(section, {}), **values}
        self.config = folder / f"{name}.toml"
        self.config.write_text(_toml(sections), encoding="utf-8")
        self.environment = dict(environment or {})
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDESK_")}
        environment.update(
            CROSSDESK_TELEGRAM__TOKEN=TOKEN,
            CROSSDESK_TELEGRAM__WEBHOOK_SECRET=SECRET,
            PYTHONPATH=str(ROOT),
        )
        environment.update(self.environment)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(self.config), "run"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, fake: FakeServer) -> None:
        """Wait until the process listens (webhook) or polls (polling)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            if self.port is not None:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    return
                except OSError:
                    pass
            elif fake.control("stats").get("get_updates", 0):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops the bot; its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def rss_kib(self) -> int:
        """The process's resident memory now, in KiB (Linux's /proc)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])

    def tracebacks(self) -> int:
        return self.log.read_text(encoding="utf-8", errors="replace").count("Traceback")


class LoadBalancer:
    """Posts updates to webhook replicas: round robin, failing over, sometimes twice."""

    def __init__(self, replicas: list[Replica]) -> None:
        self.replicas = replicas
        self.down: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        self.failovers = 0
        self.redelivered = 0

    async def __aenter__(self) -> LoadBalancer:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def _post(self, replica: Replica, update: dict[str, Any]) -> int:
        assert self._session is not None and replica.url is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            async with self._session.post(replica.url, json=update, headers=headers) as res:
                return res.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            return 0

    async def deliver(self, update: dict[str, Any], first: int, again: bool) -> None:
        """Post ``update`` to replica ``first`` until some replica answers 200 (Telegram
        keeps trying); with ``again``, post it once more to another replica afterwards."""
        index = first
        while True:
            replica = self.replicas[index % len(self.replicas)]
            if await self._post(replica, update) == 200:
                break
            self.failovers += 1
            index += 1
            await asyncio.sleep(0.05)
        if again:
            other = self.replicas[(index + 1) % len(self.replicas)]
            if await self._post(other, update) == 200:
                self.redelivered += 1


def customer_update(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user, "type": "private", "first_name": f"C{user}"},
            "from": {"id": user, "is_bot": False, "first_name": f"C{user}", "language_code": "en"},
            "text": text,
        },
    }
