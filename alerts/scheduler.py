"""Runs every alert rule on its own schedule inside an asyncio event loop.

Each enabled rule is one APScheduler job (``every_minutes`` or a crontab line in the support
timezone), with ``coalesce`` (missed runs collapse into one), ``max_instances=1`` (a slow run is
never overlapped by the next) and ``misfire_grace_time``. The database work runs in a worker
thread so chat updates keep flowing; after a run ``on_run`` is called (the bot wakes its
delivery worker there to send what the run queued).

This module knows the alert engine and APScheduler only; ``bot/alert_jobs.py`` wires it to the
running bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.lifecycle import AlertEngine, RuleRun
from alerts.settings import AlertSettings

log = logging.getLogger(__name__)


def trigger_for(settings: AlertSettings, rule: str, timezone: ZoneInfo) -> BaseTrigger:
    """The rule's own cron or interval, else the section's ``every_minutes``."""
    own = settings.rule(rule)
    if own.cron:
        return CronTrigger.from_crontab(own.cron, timezone=timezone)
    return IntervalTrigger(minutes=own.every_minutes or settings.every_minutes, timezone=timezone)


async def run_rule_job(
    engine: AlertEngine, on_run: Callable[[], None], rule: str
) -> RuleRun | None:
    """One scheduled run: evaluate in a worker thread, then call ``on_run``."""
    try:
        report = await asyncio.to_thread(engine.run_rule, rule)
    except Exception:
        log.exception("alert rule %s failed; it runs again at its next time", rule)
        return None
    on_run()
    return report


def schedule_rules(
    engine: AlertEngine, *, timezone: ZoneInfo, on_run: Callable[[], None]
) -> AsyncIOScheduler:
    """Start one job per enabled rule in the running event loop; returns the scheduler."""
    settings = engine.settings
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=timezone)
    for rule in settings.enabled_rules():
        trigger = trigger_for(settings, rule, timezone)
        first = datetime.now(timezone) if isinstance(trigger, IntervalTrigger) else None
        scheduler.add_job(
            run_rule_job,
            trigger,
            args=[engine, on_run, rule],
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
