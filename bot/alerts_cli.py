"""``crossdesk alerts run-once`` and ``crossdesk alerts list``.

It builds the :class:`bot.app.App`, the channels' senders and a :class:`bot.delivery.Deliverer`
around the alert engine (``bot/alert_jobs.py``), and ``list`` asks the router the same
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
from typing import Any, TextIO

from bot.alert_jobs import build_engine, engine_targets
from bot.app import App, build_app
from bot.config import Settings
from bot.delivery import Deliverer, Sender
from store import outbox


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
        left = asyncio.run(_deliver(app, wanted, out))
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


async def _deliver(app: App, wanted: set[str], out: TextIO) -> int:
    """Send the due outbox rows of the ``wanted`` channels; returns how many still wait."""
    deliverer = Deliverer(app.sessions, {}, clock=app.services.clock)
    channels: list[Any] = []
    if "console" in wanted:
        from bot.channels.console import ConsoleSender

        deliverer.senders["console"] = ConsoleSender(out)
    if wanted - {"console"}:
        from bot.runtime import build_channels

        channels = [c for c in build_channels(app, deliverer) if c.name in wanted]
        for channel in channels:
            sender: Sender = channel.sender
            deliverer.senders[channel.name] = sender
    try:
        while await deliverer.run_once():
            pass
    finally:
        for channel in channels:
            with contextlib.suppress(Exception):  # never started: nothing may need stopping
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
