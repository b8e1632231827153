"""Runs every alert rule on its own schedule inside the bot's event loop (``crossdesk run``).

This module and ``alerts/cli.py`` are wiring: unlike the rest of ``alerts/`` (which imports only
``store/``), they take the composed :class:`bot.app.App` and the :class:`bot.delivery.Deliverer`
and put the pieces together.

Each enabled rule is one APScheduler job (``every_minutes`` or a crontab line in
``support.timezone``), with ``coalesce`` (missed runs collapse into one), ``max_instances=1``
(a slow run is never overlapped by the next) and ``misfire_grace_time``. The database work runs
in a worker thread so chat updates keep flowing; after a run the deliverer is woken to send
what the run queued.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.lifecycle import AlertEngine, RuleRun
from alerts.render import AlertRenderer
from alerts.settings import AlertSettings
from bot.app import App
from bot.delivery import Deliverer

log = logging.getLogger(__name__)


def build_engine(app: App) -> AlertEngine:
    """The alert engine for ``app``: its store, clock, staff language and staff channels."""
    settings = app.settings.alerts
    renderer = AlertRenderer(app.knowledge.texts, app.settings.support.staff_language, settings)
    return AlertEngine(
        app.sessions,
        settings,
        renderer,
        configured=list(app.services.staff_channels),
        clock=app.services.clock,
    )


def trigger_for(settings: AlertSettings, rule: str, timezone: ZoneInfo) -> BaseTrigger:
    """The rule's own cron or interval, else the section's ``every_minutes``."""
    own = settings.rule(rule)
    if own.cron:
        return CronTrigger.from_crontab(own.cron, timezone=timezone)
    return IntervalTrigger(minutes=own.every_minutes or settings.every_minutes, timezone=timezone)


async def run_rule_job(engine: AlertEngine, deliverer: Deliverer, rule: str) -> RuleRun | None:
    """One scheduled run: evaluate in a worker thread, then wake the deliverer."""
    try:
        report = await asyncio.to_thread(engine.run_rule, rule)
    except Exception:
        log.exception("alert rule %s failed; it runs again at its next time", rule)
        return None
    deliverer.wake()
    return report


def start_alert_scheduler(
    app: App, deliverer: Deliverer, *, engine: AlertEngine | None = None
) -> AsyncIOScheduler:
    """Start one job per enabled rule in the running event loop; returns the scheduler."""
    settings = app.settings.alerts
    engine = engine or build_engine(app)
    targets = {t for rule in settings.enabled_rules() for t in engine_targets(engine, rule)}
    if "console" in targets and "console" not in deliverer.senders:
        from bot.channels.console import ConsoleSender

        deliverer.senders["console"] = ConsoleSender(sys.stdout)
    timezone = ZoneInfo(app.settings.support.timezone)
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=timezone)
    for rule in settings.enabled_rules():
        trigger = trigger_for(settings, rule, timezone)
        first = datetime.now(timezone) if isinstance(trigger, IntervalTrigger) else None
        scheduler.add_job(
            run_rule_job,
            trigger,
            args=[engine, deliverer, rule],
            id=f"alerts.{rule}",
            name=f"alert rule {rule}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.misfire_grace_seconds,
            **({"next_run_time": first} if first is not None else {}),
        )
    scheduler.start()
    log.info("alert scheduler started with %d rules", len(settings.enabled_rules()))
    return scheduler


def engine_targets(engine: AlertEngine, rule: str) -> list[str]:
    """Where ``engine`` sends rule ``rule``."""
    return engine.settings.targets_for(rule, engine.configured)
