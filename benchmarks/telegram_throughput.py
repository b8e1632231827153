"""How many customer messages per second CrossDesk's Telegram channel answers, end to end.

One fake Telegram Bot API server runs in its own process (``tests/fakes/telegram_api.py``).
Against it, in the same run and one after another, each bot answers a burst of 1,000 customers
who each send one message (after a warm-up burst of 100 other customers):

* the baseline: a bare python-telegram-bot echo bot, as in the library's own example
  (``Application.builder().token(...).build()`` plus one ``MessageHandler``);
* for reference, the same echo bot on CrossDesk's aiohttp transport
  (``bot/channels/telegram_transport.py``), and with ``concurrent_updates`` like CrossDesk's;
* CrossDesk: the real ``TelegramChannel`` with ``telegram.rate_limit = false``, the router, a
  SQLite file database in a temporary folder, the delivery worker running.

The rate is messages answered per second, from handing the burst to the fake until its 1,000th
successful ``sendMessage``. Each bot runs ``--rounds`` times, alternating; the best round
counts. Bar: CrossDesk >= 0.5 x the bare echo bot (issue 11, with the sentence encoder reading
every message; issue 4's 0.7 was set for the lexical classifier alone).

    python benchmarks/telegram_throughput.py [--customers 1000] [--rounds 5]

This measures the bot's own processing capacity, not a rate to push at Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.channels.settings import TelegramSettings  # noqa: E402
from bot.channels.telegram import CONCURRENT_UPDATES, CONNECTIONS, TelegramChannel  # noqa: E402
from bot.channels.telegram_transport import AiohttpRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery import Deliverer  # noqa: E402
from bot.inbox_worker import MAX_BATCH  # noqa: E402
from bot.runtime import freeze_startup_objects  # noqa: E402
from handlers.messages import IncomingMessage  # noqa: E402
from tests.fakes.telegram_api import TOKEN  # noqa: E402
from tests.fakes.telegram_process import FakeServer  # noqa: E402

BAR = 0.5
MESSAGES = [
    ("en", "How long does delivery take to Canada?"),
    ("de", "Wie lange dauert der Versand nach Österreich?"),
    ("fr", "Bonjour, combien de temps prend la livraison en Belgique ?"),
    ("es", "¿Puedo devolver un artículo si no me queda bien?"),
    ("it", "Quali metodi di pagamento accettate?"),
    ("pt", "Como faço para rastrear minha encomenda?"),
    ("ru", "Сколько стоит доставка в Москву?"),
    ("ja", "返品はできますか？"),
    ("zh", "你们接受哪些付款方式？"),
    ("ar", "كم يستغرق الشحن إلى دبي؟"),
    ("en", "hello"),
    ("en", "Do you ship to Norway and what does it cost?"),
]

Starter = Callable[[str], Awaitable[Callable[[], Awaitable[None]]]]


def burst(first_user: int, count: int) -> list[dict[str, Any]]:
    """``count`` customers, each sending one message in a private chat."""
    updates = []
    for n in range(count):
        user = first_user + n
        language, text = MESSAGES[n % len(MESSAGES)]
        updates.append(
            {
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": user, "type": "private", "first_name": f"C{user}"},
                    "from": {
                        "id": user,
                        "is_bot": False,
                        "first_name": f"C{user}",
                        "language_code": language,
                    },
                    "text": text,
                }
            }
        )
    return updates


async def answered(server: FakeServer, count: int, timeout: float = 300.0) -> None:
    deadline = time.perf_counter() + timeout
    while (await asyncio.to_thread(server.control, "stats"))["sent"] < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"fewer than {count} answers after {timeout:.0f}s")
        await asyncio.sleep(0.02)


async def measure(server: FakeServer, start: Starter, customers: int, first_user: int) -> float:
    """Start a bot, warm it up, time the burst, stop it; returns messages per second."""
    server.control("reset", {})
    stop = await start(server.base_url)
    try:
        warm_up = min(100, customers)
        server.control("updates", burst(first_user, warm_up))
        await answered(server, warm_up)
        started = time.perf_counter()
        server.control("updates", burst(first_user + warm_up, customers))
        await answered(server, warm_up + customers)
        elapsed = time.perf_counter() - started
    finally:
        await stop()
    return customers / elapsed


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def echo_bot(concurrent: bool, aiohttp: bool = False) -> Starter:
    async def start(base_url: str) -> Callable[[], Awaitable[None]]:
        builder = Application.builder().token(TOKEN).base_url(base_url)
        if aiohttp:
            builder = builder.request(AiohttpRequest(CONNECTIONS))
            builder = builder.get_updates_request(AiohttpRequest(1))
        if concurrent:
            builder = builder.concurrent_updates(CONCURRENT_UPDATES)
        application = builder.build()
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling()

        async def stop() -> None:
            assert application.updater is not None
            await application.updater.stop()
            await application.stop()
            await application.shutdown()

        return stop

    return start


def crossdesk(folder: Path) -> Starter:
    async def start(base_url: str) -> Callable[[], Awaitable[None]]:
        database = folder / f"crossdesk-{time.monotonic_ns()}.db"
        settings = Settings(
            store={"url": f"sqlite:///{database}"},
            telegram={"token": TOKEN, "base_url": base_url, "rate_limit": False},
        )
        app = build_app(settings, staff_channels=["telegram"])
        deliverer = Deliverer(app.sessions, {}, clock=app.services.clock)
        channel = TelegramChannel(settings.telegram, app, deliverer)
        deliverer.senders[channel.name] = channel.sender
        await channel.start()
        worker = asyncio.create_task(deliverer.run_forever())
        freeze_startup_objects()  # as crossdesk run does once its channels run

        async def stop() -> None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await channel.stop()
            app.close()
            gc.unfreeze()  # the echo bots' rounds run as without CrossDesk in the process

        return stop

    return start


def router_alone(folder: Path, customers: int) -> tuple[float, float]:
    """Messages per second of the router by itself, no Telegram, same messages: one message at
    a time (``Router.handle``) and in batches as the channel hands them over (``handle_batch``).

    Not part of the bar: it shows how much of CrossDesk's time the handlers take.
    """
    settings = Settings(store={"url": f"sqlite:///{folder / 'router-alone.db'}"})
    app = build_app(settings, staff_channels=["telegram"])
    try:
        updates = burst(1, 2 * customers + 100)
        messages = [Update.de_json(u | {"update_id": 1}, None) for u in updates]
        incoming = [
            IncomingMessage.from_text(
                "telegram",
                str(m.message.from_user.id),
                str(m.message.chat.id),
                m.message.text,
                language_hint=m.message.from_user.language_code,
            )
            for m in messages
            if m.message and m.message.from_user and m.message.text
        ]
        for message in incoming[:100]:
            app.router.handle(message)
        one_by_one, batched = incoming[100 : 100 + customers], incoming[100 + customers :]
        started = time.perf_counter()
        for message in one_by_one:
            app.router.handle(message)
        single = customers / (time.perf_counter() - started)
        started = time.perf_counter()
        for first in range(0, customers, MAX_BATCH):
            app.router.handle_batch(batched[first : first + MAX_BATCH])
        return single, customers / (time.perf_counter() - started)
    finally:
        app.close()


@contextlib.asynccontextmanager
async def fake_server() -> AsyncIterator[FakeServer]:
    server = await asyncio.to_thread(FakeServer)
    try:
        yield server
    finally:
        server.close()


async def main_async(customers: int, rounds: int) -> int:
    logging.basicConfig(level=logging.WARNING)
    assert TelegramSettings().rate_limit  # the default; this run turns it off explicitly
    with tempfile.TemporaryDirectory() as folder:
        bots: dict[str, Starter] = {
            "echo bot (PTB example, baseline)": echo_bot(concurrent=False),
            "echo bot on aiohttp": echo_bot(concurrent=False, aiohttp=True),
            f"echo bot, concurrent_updates={CONCURRENT_UPDATES}": echo_bot(concurrent=True),
            "CrossDesk (rate_limit=false)": crossdesk(Path(folder)),
        }
        best: dict[str, float] = dict.fromkeys(bots, 0.0)
        async with fake_server() as server:
            user = 1_000_000
            for round_number in range(1, rounds + 1):
                for name, start in bots.items():
                    rate = await measure(server, start, customers, user)
                    user += customers + 100
                    best[name] = max(best[name], rate)
                    print(f"round {round_number}: {name:<40} {rate:8.0f} msg/s", flush=True)
        alone, alone_batched = router_alone(Path(folder), customers)
    baseline, on_aiohttp, _concurrent, ours = (best[name] for name in bots)
    print()
    print(f"{customers} customers, one message each; best of {rounds} rounds")
    for name, rate in best.items():
        print(f"  {name:<42} {rate:8.0f} msg/s")
    ratio = ours / baseline
    print(f"  {'router alone, one by one (no Telegram)':<42} {alone:8.0f} msg/s   (diagnostic)")
    batches = f"router alone, batches of {MAX_BATCH}"
    print(f"  {batches:<42} {alone_batched:8.0f} msg/s   (diagnostic)")
    print(f"  ratio CrossDesk / echo bot (baseline)         {ratio:8.2f}   bar >= {BAR}")
    print(f"  ratio CrossDesk / echo bot on aiohttp         {ours / on_aiohttp:8.2f}   (reference)")
    print("PASS" if ratio >= BAR else "FAIL")
    return 0 if ratio >= BAR else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    return asyncio.run(main_async(args.customers, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
