"""Runs every alert rule on its own schedule inside an asyncio event loop.

Each enabled rule is one APScheduler job (``every_minutes`` or a crontab line in the support
timezone) that also runs once as the scheduler starts, so the alert state (``/alerts``) is
current from the first minute even for a rule whose crontab says "Mondays at 8". Jobs have
``coalesce`` (missed runs collapse into one), ``max_instances=1`` (a slow run is never
overlapped by the next) and ``misfire_grace_time``. The database work runs in a worker
thread so chat updates keep flowing; after a run ``on_run`` is called (the bot wakes its
delivery worker there to send what the run queued).

With several replicas on PostgreSQL one of them leads (``store/leader.py``): it holds a
session-level advisory lock, and only it evaluates rules. The job ``alerts.leader`` asks every
``LEADER_RETRY_SECONDS`` on every replica, so a follower takes the lead within a minute when
the leader dies; each rule run asks again first, so a replica that lost its lead meanwhile
skips. On SQLite the one process always leads.

This module knows the alert engine and APScheduler only; ``bot/alert_jobs.py`` wires it to the
running bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.lifecycle import AlertEngine, RuleRun
from alerts.settings import AlertSettings
from store.leader import LeaderLock

log = logging.getLogger(__name__)
LEADER_RETRY_SECONDS = 60  # how soon a follower takes over from a leader that died


def trigger_for(settings: AlertSettings, rule: str, timezone: ZoneInfo) -> BaseTrigger:
    """The rule's own cron or interval, else the section's ``every_minutes``."""
    own = settings.rule(rule)
    if own.cron:
        return CronTrigger.from_crontab(own.cron, timezone=timezone)
    return IntervalTrigger(minutes=own.every_minutes or settings.every_minutes, timezone=timezone)


async def run_rule_job(
    engine: AlertEngine, on_run: Callable[[], None], rule: str, leader: LeaderLock | None = None
) -> RuleRun | None:
    """One scheduled run: evaluate in a worker thread if this replica leads (a report with
    ``ran`` False if it does not), then call ``on_run``; None if the run failed."""

    def run() -> RuleRun:
        if leader is not None and not leader.lead():
            return RuleRun(rule, ran=False)
        return engine.run_rule(rule)

    try:
        report = await asyncio.to_thread(run)
    except Exception:
        log.exception("alert rule %s failed; it runs again at its next time", rule)
        return None
    if report.ran:
        on_run()
    return report


async def leader_job(leader: LeaderLock) -> bool:
    """Keep or take the lead (in a worker thread); whether this replica leads now."""
    try:
        return await asyncio.to_thread(leader.lead)
    except Exception:
        log.exception("asking for the %s lead failed; asking again later", leader.name)
        return False


def schedule_rules(
    engine: AlertEngine,
    *,
    timezone: ZoneInfo,
    on_run: Callable[[], None],
    leader: LeaderLock | None = None,
) -> AsyncIOScheduler:
    """Start one job per enabled rule in the running event loop, and with ``leader`` the
    ``alerts.leader`` job (released when the scheduler shuts down); returns the scheduler."""
    settings = engine.settings
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=timezone)
    if leader is not None:
        scheduler.add_job(
            leader_job,
            IntervalTrigger(seconds=LEADER_RETRY_SECONDS, timezone=timezone),
            args=[leader],
            id="alerts.leader",
            name="alert scheduler leadership",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(timezone),
        )
        # one unlock as the scheduler stops (the bot is shutting down): another replica
        # takes over at its next try instead of when this process has exited
        scheduler.add_listener(lambda _: leader.release(), EVENT_SCHEDULER_SHUTDOWN)
    for rule in settings.enabled_rules():
        trigger = trigger_for(settings, rule, timezone)
        scheduler.add_job(
            run_rule_job,
            trigger,
            args=[engine, on_run, rule, leader],
            id=f"alerts.{rule}",
            name=f"alert rule {rule}",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=settings.misfire_grace_seconds,
            next_run_time=datetime.now(timezone),  # once at start, then on its schedule
        )
    scheduler.start()
    log.info("alert scheduler started with %d rules", len(settings.enabled_rules()))
    return scheduler
