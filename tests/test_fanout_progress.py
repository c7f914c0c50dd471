"""A fan-out observed: the progress line and reports give the rate and the time left, and
organizers who asked hear how a long reminder goes while it goes."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.config import Organizers, Settings
from bot.delivery.progress import Progress, eta
from bot.store import Store
from tests.drills.world import seed_subscribers
from tests.support.harness import S1, Harness, summit, telegram_like

ORGANIZER = "9000"
DAY = dt.timedelta(days=1)


def test_the_time_left_reads_as_a_person_would_say_it() -> None:
    assert eta(0, 10.0) == "0 s"
    assert eta(300, 10.0) == "30 s"
    assert eta(2500, 10.0) == "4 min 10 s"
    assert eta(1_000_000, 30.0) == "9 h 15 min"
    assert eta(10, 0.0) == "unknown"
    progress = Progress(sent=100)
    assert ", 400 left, ETA " in progress.line(400)


async def test_the_progress_line_has_the_rate_and_the_time_left(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    base = Settings()
    settings = replace(base, delivery=replace(base.delivery, progress_every=10, batch=10))
    bot = Harness(store, summit(), settings, S1 - 2 * DAY)
    await bot.start()
    await seed_subscribers(store, "memory", 30, first_chat_id=1, now=bot.clock.now)
    await bot.worker.scheduler.replan()
    with caplog.at_level(logging.INFO, logger="bot.delivery"):
        assert len(await bot.at(S1 - DAY)) == 30
    lines = [r.getMessage() for r in caplog.records if "fan-out in progress" in r.getMessage()]
    assert len(lines) == 3
    assert "msg/s" in lines[0] and ", 20 left, ETA " in lines[0]
    assert ", 0 left, ETA 0 s" in lines[-1]
    await bot.worker.stop()


@pytest.fixture
async def event(store: Store) -> AsyncIterator[Harness]:
    """Telegram-like, one organizer who asked for reminders' progress, 5 subscribers."""
    base = Settings()
    settings = replace(
        base,
        organizers=Organizers(telegram_user_ids=(ORGANIZER,)),
        reminders=replace(base.reminders, report_progress=True),
        delivery=replace(base.delivery, batch=2),  # rows claimed two at a time
    )
    async with telegram_like(store, settings) as harness:
        await harness.say("/start", chat_id=ORGANIZER)
        for chat in ("1", "2", "3", "4", "5"):
            await harness.say("/subscribe s1", chat_id=chat)
        yield harness


async def test_organizers_hear_a_long_reminder_go_out(event: Harness) -> None:
    # The reminder fires; the platform is slow, so nothing has gone out a minute and a half on.
    event.clock.now = S1 - DAY
    await event.worker.scheduler.run_due(event.clock.now)
    event.clock.now += dt.timedelta(seconds=90)
    assert await event.worker.reminder_progress.check() == 1
    # The progress message goes ahead of the reminder's own queue: in the first batch.
    assert await event.worker.delivery.drain_once("telegram") == 2
    [first] = [s for s in event.memory.sent if s.chat_id == ORGANIZER]
    assert first.message.plain().startswith(
        "⏱ The reminder of s1 (1440 min before) is going out: 0 sent, 0 blocked, 0 failed, "
        "5 waiting (90 s, 0.0 messages a second, about ? s left)."
    )
    # Once every row is settled: one final count, with the rate.
    await event.drain()
    event.clock.now += dt.timedelta(seconds=10)
    assert await event.worker.reminder_progress.check() == 1
    await event.drain()
    final = event.memory.sent[-1]
    assert final.chat_id == ORGANIZER
    assert final.message.plain().startswith(
        "✅ The reminder of s1 (1440 min before) is out: 5 sent, 0 blocked, 0 failed, in 100 s "
        "(0.1 messages a second)."
    )
    assert await event.worker.reminder_progress.check() == 0  # told once


async def test_a_short_reminder_is_not_reported(event: Harness) -> None:
    sent = await event.at(S1 - DAY)
    assert len(sent) == 5
    event.clock.now += dt.timedelta(seconds=90)
    assert await event.worker.reminder_progress.check() == 0
