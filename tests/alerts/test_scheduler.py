"""The scheduler in a running event loop: one job per rule with coalescing, a run that
reaches staff at once through the woken deliverer, and one leader among the replicas."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text

from bot.alert_jobs import start_alert_scheduler
from bot.app import App, Knowledge, build_app
from bot.delivery import Deliverer, Outgoing, PlatformRef
from store.clock import ManualClock
from store.leader import LeaderLock
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
        leader = jobs.pop("alerts.leader")  # every replica asks to lead, once a minute
        assert leader.trigger.interval == timedelta(seconds=60)
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


async def test_two_schedulers_on_one_database_only_the_leader_evaluates(
    scheduled: App, clock: ManualClock, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    if scheduled.engine.dialect.name != "postgresql":
        assert LeaderLock(scheduled.engine, "alerts").lead()  # SQLite: one process, leading
        assert LeaderLock(scheduled.engine, "alerts").lead()
        pytest.skip("replicas share a PostgreSQL database")
    with scheduled.sessions() as session, session.begin():
        add_order(session, "5002", paid_at=NOW - timedelta(days=5))
    other = build_app(scheduled.settings, clock=clock, staff_channels=["console"],
                      knowledge=knowledge)  # fmt: skip
    replicas = [scheduled, other]
    schedulers = []
    try:
        for app in replicas:
            scheduler = start_alert_scheduler(app, Deliverer(app.sessions, {}, clock=clock))
            scheduler.pause()  # no await since start: nothing ran; the test runs the jobs
            schedulers.append(scheduler)
        jobs = [{job.id: job for job in s.get_jobs()} for s in schedulers]
        evaluated: list[int] = []

        def spy(replica: int, run_rule):  # type: ignore[no-untyped-def]
            def counted(rule: str):  # type: ignore[no-untyped-def]
                evaluated.append(replica)
                return run_rule(rule)

            return counted

        for index, replica_jobs in enumerate(jobs):
            engine = replica_jobs["alerts.unshipped"].args[0]
            monkeypatch.setattr(engine, "run_rule", spy(index, engine.run_rule))

        async def run(job_id: str, replica: int):  # type: ignore[no-untyped-def]
            job = jobs[replica][job_id]
            return await job.func(*job.args, **job.kwargs)

        assert [await run("alerts.leader", 0), await run("alerts.leader", 1)] == [True, False]
        first = [await run("alerts.unshipped", 0), await run("alerts.unshipped", 1)]
        assert [report.ran for report in first] == [True, False] and evaluated == [0]
        assert first[0].told == 1

        leader = jobs[0]["alerts.leader"].args[0]
        pid = leader.backend_pid
        with scheduled.engine.connect() as conn:  # the leading replica's connection dies
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        assert await run("alerts.leader", 1) is True  # the follower takes over at its next try
        clock.advance(minutes=15)
        second = [await run("alerts.unshipped", 0), await run("alerts.unshipped", 1)]
        assert [report.ran for report in second] == [False, True] and evaluated == [0, 1]
        assert await run("alerts.leader", 0) is False  # and the old leader stays a follower

        schedulers[1].shutdown(wait=False)  # the leader stops: it hands the lead over at once
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in its loop's next round
        successor = LeaderLock(scheduled.engine, "alerts")
        assert successor.lead()
        successor.release()
    finally:
        for scheduler in schedulers:
            if scheduler.running:
                scheduler.shutdown(wait=False)
        other.close()
