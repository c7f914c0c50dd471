"""The database refusing writes (disk full, file read-only): a reminder due meanwhile arrives
once when it recovers, worded for then; every viewer who writes meanwhile gets an apology.

The database itself refuses (tests/drills/db_fault.py: SQLite's query_only, PostgreSQL's
read-only default), on both databases.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryAdapter
from bot.app import Worker
from bot.config import ConfigError, Reminders, Settings, load_settings
from bot.i18n import t
from bot.store import Store
from tests.drills.db_fault import ShiftedClock, refusing_writes
from tests.drills.world import summit_at
from tests.support.harness import S1, Harness

MINUTE = dt.timedelta(minutes=1)


# A new chat, an existing one: the apology, in the language the platform suggests.


async def test_a_new_chat_gets_an_apology_while_the_database_refuses_writes(
    bot: Harness, store: Store
) -> None:
    async with refusing_writes(store):
        reply = await bot.say("/start", chat_id="701", locale="zh-TW")
    assert reply == t("error.internal", "zh-TW")
    welcome = await bot.say("/start", chat_id="701", locale="zh-TW")  # and once it recovers
    assert welcome != reply and await store.chats.get("memory", "701") is not None


async def test_without_a_language_hint_the_apology_is_in_the_default_language(
    bot: Harness, store: Store
) -> None:
    async with refusing_writes(store):
        assert await bot.say("/start", chat_id="702") == t("error.internal", "en")


async def test_an_existing_chat_gets_the_apology_too(bot: Harness, store: Store) -> None:
    await bot.say("/subscribe s1", chat_id="703")
    async with refusing_writes(store):
        assert await bot.say("/mysubs", chat_id="703") == t("error.internal", "en")
        assert await bot.say("/subscribe s2", chat_id="703") == t("error.internal", "en")


# A reminder due during the fault.


async def test_a_reminder_due_while_the_database_refuses_writes_arrives_once_afterwards(
    bot: Harness, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.say("/subscribe s1")
    await bot.say("/remind 0")
    bot.clock.now = S1
    async with refusing_writes(store):
        with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
            await bot.worker.scheduler.run_due(S1)  # the job runs at its instant: refused
        assert "refused" in caplog.text
    [(chat, message)] = await bot.at(S1 + 3 * MINUTE)  # the database takes writes again
    assert chat == "100"
    assert message.title is not None and "started 3 minutes ago" in message.title
    assert await bot.at(S1 + 4 * MINUTE) == []
    again = await bot.restart()
    assert await again.at(S1 + 5 * MINUTE) == []


async def test_firing_a_reminder_again_writes_nothing_twice(bot: Harness, store: Store) -> None:
    await bot.say("/subscribe s1")
    await bot.say("/remind 0")
    groups = await bot.worker.scheduler.plan_groups(S1 - MINUTE)
    [live] = [g for g in groups.values() if g.session_id == "s1"]
    # A retry and a re-plan may both write the same reminder: the second adds no row.
    assert await bot.worker.scheduler.fire(live) == 1
    assert await bot.worker.scheduler.fire(live) == 0
    assert len(await bot.at(S1)) == 1


# The worker running for real: jobs on APScheduler, retries and the periodic re-plan.


@pytest.fixture
async def running(store: Store) -> AsyncIterator[tuple[Worker, MemoryAdapter, ShiftedClock]]:
    """A background worker on the memory platform, session 1 an hour away on the real clock;
    writes retried every 10 ms, a re-plan at least every 50 ms."""
    clock = ShiftedClock()
    reminders = replace(
        Reminders(), default_offsets=(0,), write_retry_seconds=(0.01, 0.02), replan_seconds=0.05
    )
    settings = replace(Settings(), reminders=reminders)
    memory = MemoryAdapter()
    worker = Worker(settings, summit_at(clock() + 60 * MINUTE), store, [memory], clock)
    await worker.start()
    await memory.push("/subscribe s1")
    await worker.settle()
    try:
        yield worker, memory, clock
    finally:
        await worker.stop()


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait for an outcome (polling), failing after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def test_a_missed_reminder_is_caught_by_the_periodic_replan(
    running: tuple[Worker, MemoryAdapter, ShiftedClock],
) -> None:
    _, memory, clock = running
    # The worker's clock passes the instant, its job does not run (it waits for the real
    # one, an hour away): nobody asks for a re-plan, the periodic one finds it due.
    clock.shift = 62 * MINUTE
    await until(lambda: len(memory.sent) == 1)
    assert memory.sent[0].message.title is not None
    assert "started 2 minutes ago" in memory.sent[0].message.title


async def test_a_refused_write_is_retried_with_a_log_line_each_until_it_lands(
    running: tuple[Worker, MemoryAdapter, ShiftedClock],
    store: Store,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker, memory, clock = running

    def retries() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"]

    caplog.set_level(logging.WARNING, logger="bot.scheduler")
    async with refusing_writes(store):
        clock.shift = 61 * MINUTE
        await until(lambda: len(retries()) >= 3)
        assert memory.sent == []
    assert all("refused" in line and "retry" in line for line in retries()), retries()
    await until(lambda: len(memory.sent) == 1)
    assert memory.sent[0].message.title is not None
    assert "started 1 minute ago" in memory.sent[0].message.title
    await worker.scheduler.replan()  # nothing left to fire: nothing more is sent
    await worker.delivery.drain_once(memory.platform)
    assert len(memory.sent) == 1


def test_the_retry_waits_and_the_replan_period_come_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("reminders:\n  write_retry_seconds: [0.5, 2]\n  replan_seconds: 30\n")
    reminders = load_settings(config, env={}).reminders
    assert reminders.write_retry_seconds == (0.5, 2) and reminders.replan_seconds == 30.0
    config.write_text("reminders:\n  write_retry_seconds: []\n")
    with pytest.raises(ConfigError, match="write_retry_seconds"):
        load_settings(config, env={})
    config.write_text("reminders:\n  replan_seconds: 0\n")
    with pytest.raises(ConfigError, match="replan_seconds"):
        load_settings(config, env={})
