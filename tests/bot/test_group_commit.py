"""GroupCommit: what is submitted while a write runs is written together by the next one."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.group_commit import GroupCommit


class RecordingWrite:
    """A write that records each call's items; the first call waits until released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, items: list[str]) -> list[str]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            self.first_started.set()
            assert self.release.wait(5)
        if self.fail_on in items:
            raise RuntimeError("store down")
        return [item.upper() for item in items]


async def test_submissions_waiting_for_a_write_go_together_in_the_next() -> None:
    write = RecordingWrite()
    with ThreadPoolExecutor(1) as pool:
        commit = GroupCommit(write, pool)
        first = asyncio.create_task(commit.submit(["a"]))
        await asyncio.to_thread(write.first_started.wait, 5)
        later = [asyncio.create_task(commit.submit(items)) for items in (["b", "c"], ["d"])]
        await asyncio.sleep(0)
        assert commit.busy
        write.release.set()
        results = await asyncio.gather(first, *later)
    assert results == [["A"], ["B", "C"], ["D"]]
    assert write.calls == [["a"], ["b", "c", "d"]]
    assert not commit.busy


async def test_a_failed_write_fails_every_submission_it_held_and_the_next_still_runs() -> None:
    write = RecordingWrite(fail_on="c")
    with ThreadPoolExecutor(1) as pool:
        commit = GroupCommit(write, pool)
        first = asyncio.create_task(commit.submit(["a"]))
        await asyncio.to_thread(write.first_started.wait, 5)
        held = [asyncio.create_task(commit.submit(items)) for items in (["b"], ["c"])]
        await asyncio.sleep(0)
        write.release.set()
        assert await first == ["A"]
        for task in held:
            with pytest.raises(RuntimeError, match="store down"):
                await task
        assert await commit.submit(["e"]) == ["E"]
    assert write.calls == [["a"], ["b", "c"], ["e"]]


async def test_nothing_submitted_writes_nothing() -> None:
    write = RecordingWrite()
    with ThreadPoolExecutor(1) as pool:
        assert await GroupCommit(write, pool).submit([]) == []
    assert write.calls == []
