"""The scheduler in a running event loop: one job per rule with coalescing, and a run that
reaches staff at once through the woken deliverer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.alert_jobs import start_alert_scheduler
from bot.app import App, Knowledge, build_app
from bot.delivery import Deliverer, Outgoing, PlatformRef
from store.clock import ManualClock
from tests.alerts.conftest import NOW, add_order, alert_settings


class SignallingSender:
    """Records what it sends and signals the test when something arrived."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.arrived = asyncio.Event()

    async def send(self, message: Outgoing) -> PlatformRef:
        self.sent.append(message)
        self.arrived.set()
        return PlatformRef("staff", str(len(self.sent)))


@pytest.fixture
def scheduled(db_url: str, clock: ManualClock, knowledge: Knowledge) -> Iterator[App]:
    settings = alert_settings(
        db_url,
        every_minutes=30,
        misfire_grace_seconds=120,
        rules={"low_stock": {"cron": "0 8 * * 1-5"}, "days_of_cover": {"enabled": False}},
    )
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


async def test_one_coalescing_job_per_enabled_rule(scheduled: App) -> None:
    deliverer = Deliverer(scheduled.sessions, {}, clock=scheduled.services.clock)
    scheduler = start_alert_scheduler(scheduled, deliverer)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        expected = set(scheduled.settings.alerts.enabled_rules())
        assert "days_of_cover" not in expected and len(expected) == 6
        assert set(jobs) == {f"alerts.{rule}" for rule in expected}
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time == 120
        assert isinstance(jobs["alerts.low_stock"].trigger, CronTrigger)
        interval = jobs["alerts.unshipped"].trigger
        assert isinstance(interval, IntervalTrigger)
        assert interval.interval == timedelta(minutes=30)
    finally:
        scheduler.shutdown(wait=False)


async def test_scheduled_run_reaches_staff_without_waiting_for_the_poll(scheduled: App) -> None:
    with scheduled.sessions() as session, session.begin():
        add_order(session, "5001", paid_at=NOW - timedelta(days=5))
    sender = SignallingSender()
    deliverer = Deliverer(scheduled.sessions, {"console": sender}, clock=scheduled.services.clock)
    worker = asyncio.create_task(deliverer.run_forever(poll_seconds=3600))
    for _ in range(5):  # the worker does its first (empty) round, then waits an hour
        await asyncio.sleep(0)
    scheduler = start_alert_scheduler(scheduled, deliverer)
    try:
        await asyncio.wait_for(sender.arrived.wait(), timeout=30)
        assert "5001" in sender.sent[0].text
        assert sender.sent[0].buttons[0][0][1].startswith("ack:unshipped@")
    finally:
        scheduler.shutdown(wait=False)
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
