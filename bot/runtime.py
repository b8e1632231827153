"""``crossdesk run``: the long-running bot in one asyncio event loop.

It starts every configured channel (Telegram when ``telegram.token`` is set, Slack when
``slack.bot_token`` is set; each with its inbox worker), the delivery worker that sends outbox
rows through them, the ticket SLA sweep, and the alert scheduler, and stops them all cleanly
on Ctrl-C or SIGTERM. Every store call runs in a worker thread: the event loop only moves
bytes, so a busy database never delays an acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import Protocol

from bot.app import App, build_app
from bot.channels.network import Unreachable
from bot.config import Settings
from bot.delivery import Deliverer, Sender

log = logging.getLogger(__name__)
SLA_SWEEP_SECONDS = 60.0


class Channel(Protocol):
    """A chat platform the runtime starts and stops."""

    name: str

    @property
    def sender(self) -> Sender:
        """Sends this platform's outbox rows (read-only: each channel has its own kind)."""

    async def start(self) -> None:
        """Begin receiving updates (returns once receiving runs in the background)."""

    async def open_sender(self) -> None:
        """Get ready to send without receiving (``alerts run-once``); :meth:`stop` closes."""

    async def stop(self) -> None:
        """Stop receiving and release connections."""


class NothingToRun(Exception):
    """No channel is configured."""


def build_channels(app: App, deliverer: Deliverer) -> list[Channel]:
    """The channels the settings ask for."""
    settings = app.settings
    channels: list[Channel] = []
    if settings.telegram.token:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(settings.telegram, app, deliverer))
    if settings.slack.bot_token:
        from bot.channels.slack import SlackChannel

        channels.append(SlackChannel(settings.slack, app, deliverer))
    return channels


async def sla_loop(app: App, every: float = SLA_SWEEP_SECONDS) -> None:
    """Re-announce unclaimed tickets past their SLA and close quiet ones, once a minute."""
    from handlers.handoff import sla_sweep
    from handlers.ticket_expiry import close_quiet_tickets

    def sweep() -> None:
        with app.sessions() as session, session.begin():
            sla_sweep(app.services, session)  # what it queues wakes the deliverer
            close_quiet_tickets(app.services, session)

    while True:
        try:
            await asyncio.to_thread(sweep)  # off the event loop: the store may be busy
        except Exception:
            log.exception("SLA sweep failed")
        await asyncio.sleep(every)


def freeze_startup_objects() -> None:
    """Leave what start-up built out of every later garbage collection.

    The knowledge base's indexes, the language models' Python side and the libraries' modules
    are hundreds of thousands of objects that live as long as the process; the cyclic garbage
    collector would walk them again and again while a burst of messages makes short-lived
    ones (about a tenth of a millisecond per message in the Telegram benchmark). They are freed
    by reference counting as usual; only cycles among them would now stay (there are none that
    matter in objects built once). Python documents this for servers that fork, and it serves
    a single process just as well.
    """
    gc.collect()
    gc.freeze()


async def serve(app: App, stop: asyncio.Event) -> None:
    """Run channels, delivery, SLA sweep and alerts until ``stop`` is set."""
    deliverer = Deliverer(app.sessions, {}, clock=app.services.clock)
    channels = build_channels(app, deliverer)
    if not channels:
        raise NothingToRun(
            "nothing to run: set CROSSDESK_TELEGRAM__TOKEN and/or CROSSDESK_SLACK__BOT_TOKEN "
            "(or try 'crossdesk chat' in this terminal)"
        )
    for channel in channels:
        deliverer.senders[channel.name] = channel.sender
    tasks: list[asyncio.Task[None]] = []
    scheduler = None
    started: list[Channel] = []
    try:
        # the platforms first: if one cannot be reached, nothing else has started (no alert
        # is evaluated and delivered elsewhere for a bot that is about to exit)
        for channel in channels:
            await channel.start()
            started.append(channel)
            log.info("%s channel started", channel.name)
        tasks = [
            asyncio.create_task(deliverer.run_forever(), name="delivery"),
            asyncio.create_task(sla_loop(app), name="sla"),
        ]
        if app.settings.alerts.enabled:
            from bot.alert_jobs import start_alert_scheduler

            scheduler = start_alert_scheduler(app, deliverer)
        freeze_startup_objects()
        await stop.wait()
    finally:
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping %s failed", channel.name)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run(settings: Settings) -> int:
    """Build the app and serve until interrupted."""
    from bot.cli_args import UserError
    from store.single_process import StoreInUse, only_process

    with contextlib.ExitStack() as held:
        try:
            held.enter_context(only_process(settings.store.url))
        except StoreInUse as exc:
            raise UserError(str(exc)) from None
        return _run(settings)


def _run(settings: Settings) -> int:
    from bot.cli_args import UserError

    app = build_app(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, stop)

    try:
        asyncio.run(main())
    except (NothingToRun, Unreachable) as exc:  # one line for the user, no traceback
        raise UserError(str(exc)) from None
    finally:
        app.close()
    return 0
