"""The alert engine wired to the running bot: its store, clock, texts and staff channels.

``alerts/`` knows rules, lifecycle and schedules and imports only ``store/``; this module puts
them together with the composed :class:`App` and its :class:`Deliverer` for ``crossdesk run``
and ``crossdesk alerts``.
"""

from __future__ import annotations

import logging
import sys
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from alerts.lifecycle import AlertEngine, RuleRun
from alerts.render import AlertRenderer
from alerts.scheduler import schedule_rules
from bot.app import App
from bot.delivery import Deliverer
from store.leader import LeaderLock

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


def engine_targets(engine: AlertEngine, rule: str) -> list[str]:
    """Where ``engine`` sends rule ``rule``."""
    return engine.settings.targets_for(rule, engine.configured)


def start_alert_scheduler(
    app: App, deliverer: Deliverer, *, engine: AlertEngine | None = None
) -> AsyncIOScheduler:
    """Schedule every enabled rule in the running loop; each run wakes ``deliverer``.

    Only the replica that leads (``store/leader.py``: a PostgreSQL advisory lock; SQLite's
    one process always leads) evaluates the rules; the others keep asking to take over."""
    engine = engine or build_engine(app)
    targets = {t for rule in engine.settings.enabled_rules() for t in engine_targets(engine, rule)}
    if "console" in targets and "console" not in deliverer.senders:
        from bot.channels.console import ConsoleSender

        deliverer.senders["console"] = ConsoleSender(sys.stdout)
    timezone = ZoneInfo(app.settings.support.timezone)
    leader = LeaderLock(app.engine, "alerts")
    return schedule_rules(engine, timezone=timezone, on_run=deliverer.wake, leader=leader)


def evaluate_once(app: App) -> list[RuleRun]:
    """Evaluate every enabled rule now (``crossdesk chat --staff`` at start), so ``/alerts``
    shows the shop's state at once; what the rules tell waits in the outbox for delivery.

    A failing rule is logged and left for the next evaluation: the chat starts regardless.
    """
    if not app.settings.alerts.enabled:
        return []
    try:
        return build_engine(app).run_all()
    except Exception:
        log.exception("evaluating the alert rules at start failed")
        return []
