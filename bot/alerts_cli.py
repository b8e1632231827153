"""``crossdesk alerts run-once`` and ``crossdesk alerts list``.

It builds the :class:`bot.app.App`, the channels' senders (opened: connected and ready to
send, not receiving) and a :class:`bot.delivery.Deliverer` around the alert engine
(``bot/alert_jobs.py``), and ``list`` asks the router the same
``/alerts`` staff command a chat would, so the listing has one implementation.

``run-once`` is for cron users: evaluate every enabled rule once, write state and outbox rows,
deliver them through the targets (the console prints them when no platform is configured) and
exit. What a platform does not take now stays in the outbox for the next delivery, by this
command or by a running bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, TextIO

from bot.alert_jobs import build_engine, engine_targets
from bot.app import App, build_app
from bot.config import ConfigError, Settings
from bot.delivery import Deliverer, Sender
from store import outbox

if TYPE_CHECKING:
    from bot.runtime import Channel


def alerts_command(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch ``crossdesk alerts <action>``."""
    if args.alerts_command == "run-once":
        return run_once(settings)
    return list_alerts(settings)


def run_once(settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Evaluate every enabled rule once, deliver what they queued, report, exit."""
    app = build_app(settings)
    try:
        engine = build_engine(app)
        reports = engine.run_all()
        wanted = {t for r in settings.alerts.enabled_rules() for t in engine_targets(engine, r)}
        left = asyncio.run(_deliver(app, wanted, out, err))
    finally:
        app.close()
    for report in reports:
        if not report.ran:
            print(f"{report.rule}: skipped (another process is evaluating it)", file=err)
            continue
        print(
            f"{report.rule}: {report.firing} firing, {report.told} told, "
            f"{report.resolved} resolved ({report.seconds:.2f}s)",
            file=err,
        )
    if left:
        print(f"{left} notification(s) wait in the outbox for the next delivery", file=err)
    return 0


async def _deliver(app: App, wanted: set[str], out: TextIO, err: TextIO) -> int:
    """Send the due outbox rows of the ``wanted`` channels; returns how many still wait.

    The platform channels are built and their senders opened (Telegram's Bot API client
    must be initialised before it can send), but they do not receive: a running bot may be
    receiving for them at the same time. A platform that cannot be reached now keeps its
    rows in the outbox.
    """
    deliverer = Deliverer(app.sessions, {}, clock=app.services.clock)
    channels: list[Channel] = []
    if "console" in wanted:
        from bot.channels.console import ConsoleSender

        deliverer.senders["console"] = ConsoleSender(out)
    try:
        if wanted - {"console"}:
            from bot.runtime import build_channels

            channels = build_channels(app, deliverer)  # all of them are stopped below
            for channel in channels:
                if channel.name not in wanted:
                    continue
                try:
                    await channel.open_sender()
                except ConfigError:
                    raise
                except Exception as exc:  # unreachable now: the rows wait for the next run
                    print(f"{channel.name}: cannot connect ({type(exc).__name__})", file=err)
                    continue
                sender: Sender = channel.sender
                deliverer.senders[channel.name] = sender
        while await deliverer.run_once():
            pass
    finally:
        for channel in channels:
            with contextlib.suppress(Exception):  # a sender that never opened may not close
                await channel.stop()
    with app.sessions() as session:
        return outbox.pending_count(session)


def list_alerts(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Print active alerts and silences, as ``/alerts`` shows them to staff."""
    from handlers.messages import IncomingMessage

    app = build_app(settings, staff_channels=[])
    try:
        message = IncomingMessage.from_text(
            "console", "cli", "staff", "/alerts", is_staff=True, in_staff_chat=True
        )
        for reply in app.router.handle(message):
            print(reply.text, file=out)
    finally:
        app.close()
    return 0
