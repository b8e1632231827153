"""A store that is slow to take a slash command or a button press (another writer holds
SQLite's lock) must not turn it into Slack's error: Slack shows the person an error when the
acknowledgement takes over 3 s and never sends the request again, so it is acknowledged in
time while the inbox finishes storing it, and it is answered once the store is free.

Found by the storm suite: under load a few commands got Bolt's 404 after its 3 s wait.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.channels.slack_harness import STAFF, STAFF_CHANNEL, Desk, command, send

HOLD_SECONDS = 4.0  # longer than Slack waits for an acknowledgement


@contextmanager
def write_lock_held(database: str) -> Iterator[threading.Event]:
    """Another connection holds SQLite's write lock until the yielded event is set (or
    :data:`HOLD_SECONDS` pass)."""
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(database, timeout=30, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(HOLD_SECONDS)
        connection.execute("ROLLBACK")
        connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()


async def test_a_command_stored_slowly_is_acknowledged_in_time_and_answered(
    desk: Desk, db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("holds SQLite's write lock")
    url = desk.slack.response_url("slow")
    with write_lock_held(db_url.removeprefix("sqlite:///")):
        status = await send(desk, command("/tickets", "", STAFF, STAFF_CHANNEL, url))
        assert status == 200  # not Bolt's 404 after 3 s without an acknowledgement
        assert not desk.slack.calls_to("respond/slow")
    answer = await desk.slack.wait_for(lambda s: s.calls_to("respond/slow"), timeout=20)
    assert len(answer) == 1
    await desk.channel.settle()
    assert len(desk.slack.calls_to("respond/slow")) == 1
