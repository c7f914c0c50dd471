"""The worker as operators run it: a process that answers, stops cleanly on SIGTERM, and
leaves a database to one worker at a time."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.support.processes import kill, read_until, say, spawn_worker, stopped


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_worker_answers_then_stops_within_ten_seconds(tmp_path: Path, sig: int) -> None:
    proc = await spawn_worker(tmp_path)
    try:
        await say(proc, "/language zh-TW", "語言已設定")
        assert await stopped(proc, sig) < 10
    finally:
        kill(proc)
        await proc.wait()
    assert (tmp_path / "data" / "summit-bot.sqlite3").exists()


async def test_a_second_worker_on_the_database_stands_by_then_takes_over(
    tmp_path: Path,
) -> None:
    first = await spawn_worker(tmp_path)
    second: asyncio.subprocess.Process | None = None
    try:
        await say(first, "/language zh-TW", "語言已設定")
        second = await spawn_worker(tmp_path)  # a rolling deploy: the new one comes up early
        await read_until(second.stderr, "is already running on this database: standing by")
        await stopped(first)
        await read_until(second.stderr, "taking over")
        await say(second, "/language en", "Language set: English")
        await stopped(second)
    finally:
        kill(first, *([second] if second else []))
        await first.wait()
        if second is not None:
            await second.wait()
