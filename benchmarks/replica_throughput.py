"""How many customer messages per second 1, 2 and 3 ``crossdesk run`` replicas answer on
PostgreSQL, behind a load balancer, in Telegram webhook mode (issue 12).

For each replica count N, in one run and one after another: a fresh PostgreSQL schema
(migrated), N real bot processes (``tests/replicas/harness.py``'s :class:`Replica`, each with
its own config file and port) started together and waited for, and the fake Bot API in its own
process (``tests/fakes/telegram_process.py``) that they answer. Each replica first answers a
few customers of its own (its first message loads what loads lazily: about 1 s of CPU and 120
MiB, once per process). Then the burst: ``--customers`` customers each send ``--messages``
FAQ-type messages, posted round robin through the harness's :class:`LoadBalancer`,
``--in-flight`` posts at a time, as Telegram delivers them: a customer's next message once
the previous one got its 200.

msg/s = messages / seconds from the first post until every message has its answer at the fake
(counted per chat, polled every 0.2 s). Also: when the last post got its 200, chats answered
more often than they wrote, messages never answered, each replica's peak RSS, the CPU seconds
of the replicas and of the whole (shared) machine during the burst, exit codes after SIGTERM,
tracebacks in the logs, and the ratio to N = 1 (best round of each). No bar: the issue asks
for the figures. Exit code 1 if an answer went missing or double, or a replica failed.

    python benchmarks/replica_throughput.py --database-url postgresql+psycopg://... \
        [--replicas 1,2,3] [--customers 300] [--messages 3] [--in-flight 32] [--rounds 1]

The URL defaults to ``CROSSDESK_TEST_DATABASE_URL``; each N gets its own schema there, dropped
afterwards. The replicas, PostgreSQL, the fake and this driver share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from store.db import create_store_engine, upgrade
from tests.fakes.telegram_process import FakeServer
from tests.replicas.harness import LoadBalancer, Replica, customer_update

MESSAGES = ["How long does delivery take?", "Do you ship to Canada?", "hello"]
POLL = 0.2
SETTLE = 3.0  # after the last answer: a second answer would come by now
ANSWER_TIMEOUT = 300.0
WARM_UP = 8  # customers per replica before the burst
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    replicas: int
    messages: int
    seconds: float
    posted: float  # seconds until the last post got its 200
    replica_cpu: float  # CPU seconds of the replicas during the burst
    machine_cpu: float  # CPU seconds of every process on the machine meanwhile
    unanswered: int
    answered_twice: int
    peak_rss_kib: list[int]
    exits: list[int | None]
    tracebacks: list[int]
    failovers: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def clean(self) -> bool:
        failed = any(code != 0 for code in self.exits) or any(self.tracebacks)
        return not (self.unanswered or self.answered_twice or failed)


@contextlib.contextmanager
def fresh_schema(url: str, schema: str) -> Iterator[str]:
    """Create ``schema``, migrate it, yield a URL whose search_path points at it; drop it."""
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
        migrated = create_store_engine(scoped)
        upgrade(migrated)
        migrated.dispose()
        yield scoped
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


async def burst(
    balancer: LoadBalancer, chats: list[int], messages: int, in_flight: int, pinned: bool = False
) -> float:
    """Every customer posts its messages in order, each once the previous one got its 200:
    round robin, or (``pinned``) the i-th customer to replica i. Returns when the last 200
    came (``time.monotonic()``)."""
    gate = asyncio.Semaphore(in_flight)
    posts = itertools.count()

    async def customer(i: int, chat: int) -> None:
        for m in range(messages):
            update = customer_update(chat * 10 + m, chat, MESSAGES[(chat + m) % len(MESSAGES)])
            async with gate:
                await balancer.deliver(update, i if pinned else next(posts), again=False)

    await asyncio.gather(*(customer(i, chat) for i, chat in enumerate(chats)))
    return time.monotonic()


async def warm_up(balancer: LoadBalancer, fake: FakeServer, first_chat: int) -> None:
    """WARM_UP customers per replica, each sending every message; until all are answered."""
    chats = [first_chat + i for i in range(WARM_UP * len(balancer.replicas))]
    await burst(balancer, chats, len(MESSAGES), len(chats), pinned=True)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while missing(await asyncio.to_thread(fake.sent), chats, len(MESSAGES)):
        assert time.monotonic() < deadline, "the warm-up customers were not answered"
        await asyncio.sleep(POLL)


def sample_rss(replicas: list[Replica], peaks: list[int]) -> None:
    for i, replica in enumerate(replicas):
        with contextlib.suppress(OSError, StopIteration):  # a process that has gone
            peaks[i] = max(peaks[i], replica.rss_kib())


def replicas_cpu(replicas: list[Replica]) -> float:
    """CPU seconds (user + system) the replicas' processes have used (``/proc``)."""
    total = 0
    for replica in replicas:
        assert replica.process is not None
        with contextlib.suppress(OSError):  # a process that has gone
            stat = Path(f"/proc/{replica.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def machine_cpu() -> float:
    """CPU seconds every core has spent busy since boot (``/proc/stat``)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / TICKS  # all but idle and iowait


def missing(sent: dict[str, list[str]], chats: list[int], messages: int) -> int:
    return sum(max(0, messages - len(sent.get(str(chat), []))) for chat in chats)


async def measure(
    fake: FakeServer, url: str, folder: Path, n: int, round_: int, args: argparse.Namespace
) -> Result:
    """Start ``n`` replicas on a fresh schema, time one burst, stop them."""
    chats = [(round_ * 10 + n) * 100_000 + c for c in range(min(args.customers, 50_000))]
    await asyncio.to_thread(fake.control, "reset", {})
    with fresh_schema(url, f"crossdesk_bench_{os.getpid()}_{round_}_{n}") as scoped:
        names = [f"round{round_}-n{n}-r{i + 1}" for i in range(n)]
        replicas = [Replica(folder, name, scoped, fake, webhook=True) for name in names]
        peaks = [0] * n
        try:
            for replica in replicas:
                replica.start()
            await asyncio.gather(*(replica.ready(fake) for replica in replicas))
            async with LoadBalancer(replicas) as balancer:
                await warm_up(balancer, fake, chats[0] + 50_000)
                cpu_before = replicas_cpu(replicas), machine_cpu()
                started = time.monotonic()
                posting = asyncio.create_task(burst(balancer, chats, args.messages, args.in_flight))
                while True:
                    sample_rss(replicas, peaks)
                    sent = await asyncio.to_thread(fake.sent)
                    seconds = time.monotonic() - started
                    if posting.done() and not missing(sent, chats, args.messages):
                        break
                    if seconds > ANSWER_TIMEOUT:
                        print(f"  N={n}: not every message answered after {seconds:.0f} s")
                        break
                    await asyncio.sleep(POLL)
                cpu = replicas_cpu(replicas) - cpu_before[0], machine_cpu() - cpu_before[1]
                posted = posting.result() - started if posting.done() else float("nan")
                settle = time.monotonic() + SETTLE
                while time.monotonic() < settle:  # a second answer would come now
                    sample_rss(replicas, peaks)
                    await asyncio.sleep(POLL)
                posting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await posting
                sent = await asyncio.to_thread(fake.sent)
        finally:
            exits = [await asyncio.to_thread(replica.stop) for replica in replicas]
    twice = [c for c in chats if len(sent.get(str(c), [])) > args.messages]
    result = Result(
        replicas=n,
        messages=len(chats) * args.messages,
        seconds=seconds,
        posted=posted,
        replica_cpu=cpu[0],
        machine_cpu=cpu[1],
        unanswered=missing(sent, chats, args.messages),
        answered_twice=len(twice),
        peak_rss_kib=peaks,
        exits=list(exits),
        tracebacks=[replica.tracebacks() for replica in replicas],
        failovers=balancer.failovers,
    )
    if not result.clean:
        for chat in twice[:3]:
            print(f"  chat {chat} got {len(sent[str(chat)])} answers: {sent[str(chat)]}")
        for replica in replicas:
            tail = replica.log.read_text(encoding="utf-8", errors="replace")[-2000:]
            print(f"  --- {replica.name} log tail ---\n{tail}")
    return result


def line(result: Result, round_: int) -> str:
    rss = "/".join(f"{kib / 1024:.0f}" for kib in result.peak_rss_kib)
    return (
        f"round {round_} N={result.replicas}: {result.messages} msgs in {result.seconds:5.1f} s "
        f"= {result.rate:6.1f} msg/s (posted in {result.posted:5.1f} s)  "
        f"unanswered={result.unanswered} answered_twice={result.answered_twice} "
        f"failovers={result.failovers}  peak RSS MiB {rss}  CPU s replicas "
        f"{result.replica_cpu:.1f} / machine {result.machine_cpu:.1f} of "
        f"{result.seconds * (os.cpu_count() or 1):.1f}  exits {result.exits} "
        f"tracebacks {sum(result.tracebacks)}"
    )


async def main_async(args: argparse.Namespace) -> int:
    counts = [int(part) for part in args.replicas.split(",")]
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"{args.customers} customers x {args.messages} messages, {args.in_flight} in flight")
    results: dict[int, list[Result]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory() as folder:
        fake = await asyncio.to_thread(FakeServer)
        try:
            for round_ in range(1, args.rounds + 1):  # alternate the order between rounds
                for n in counts if round_ % 2 else counts[::-1]:
                    result = await measure(fake, args.database_url, Path(folder), n, round_, args)
                    results[n].append(result)
                    print(line(result, round_), flush=True)
        finally:
            fake.close()
    best = {n: max(rs, key=lambda r: r.rate) for n, rs in results.items()}
    print(f"\nbest of {args.rounds} round(s)   msg/s   vs N=1   peak RSS per replica (MiB)")
    for n, result in best.items():
        ratio = f"{result.rate / best[1].rate:6.2f}" if 1 in best else "     -"
        rss = ", ".join(f"{kib / 1024:.0f}" for kib in result.peak_rss_kib)
        print(f"  {n} replica(s){'':12} {result.rate:7.1f}   {ratio}   {rss}")
    clean = all(r.clean for rs in results.values() for r in rs)
    print("every message answered once, every replica exited 0" if clean else "NOT CLEAN")
    return 0 if clean else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("CROSSDESK_TEST_DATABASE_URL"))
    parser.add_argument("--replicas", default="1,2,3")
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url (or CROSSDESK_TEST_DATABASE_URL): a PostgreSQL URL")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
