"""A worker on the in-memory platform with an injected clock: tests drive time themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.memory import MemoryAdapter
from bot.app import Worker
from bot.config import Settings
from bot.messages import Message, Reply
from bot.schedule import Schedule, load_schedule
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.UTC


class Clock:
    """A clock the test sets; nothing in the bot reads the real time when given one."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Harness:
    """The bot as a viewer meets it: push a command, read the reply; move time, read sends."""

    def __init__(
        self,
        store: Store,
        schedule: Schedule,
        settings: Settings,
        now: dt.datetime,
        *,
        memory: MemoryAdapter | None = None,
        **worker_options: Any,
    ):
        self.store = store
        self.clock = Clock(now)
        self.memory = memory or MemoryAdapter()
        self.settings = settings
        self.worker = Worker(
            settings, schedule, store, [self.memory], self.clock, **worker_options
        )

    async def start(self) -> None:
        """Start the worker without background jobs (the test moves time)."""
        await self.worker.start(background=False)
        await self.memory.start(self.worker)

    async def say(self, text: str, chat_id: str = "100", **kwargs: object) -> str:
        """A viewer sends `text`; returns the reply's plain text."""
        reply = await self.memory.push(text, chat_id=chat_id, **kwargs)  # type: ignore[arg-type]
        assert isinstance(reply, Reply)
        await self.worker.settle()
        return "\n\n".join(m.plain() for m in reply.messages)

    async def reply(self, text: str, chat_id: str = "100", **kwargs: object) -> Reply:
        """A viewer sends `text`; returns the whole reply, buttons included."""
        reply = await self.memory.push(text, chat_id=chat_id, **kwargs)  # type: ignore[arg-type]
        assert isinstance(reply, Reply)
        await self.worker.settle()
        return reply

    async def at(self, when: dt.datetime) -> list[tuple[str, Message]]:
        """Move the clock to `when`, run what came due, deliver; returns what was sent."""
        before = len(self.memory.sent)
        self.clock.now = when
        await self.worker.settle()
        await self.worker.scheduler.run_due(when)
        await self.drain()
        return [(s.chat_id, s.message) for s in self.memory.sent[before:]]

    async def drain(self) -> None:
        """Send everything due now, then run what follows a drained queue (reports)."""
        while True:
            while await self.worker.delivery.drain_once(self.memory.platform):
                pass
            pending = await self.store.ledger.pending_count(self.memory.platform)
            await self.worker.delivery.run_idle_hooks()
            if await self.store.ledger.pending_count(self.memory.platform) == pending:
                return

    async def restart(self) -> Harness:
        """A new worker process on the same database, at the same time."""
        again = Harness(self.store, self.worker.schedule, self.settings, self.clock.now)
        await again.start()
        return again


class TelegramLike(MemoryAdapter):
    """The memory platform under Telegram's name: organizers and announcement channels are
    configured per platform, so this one has them."""

    platform = "telegram"


@asynccontextmanager
async def telegram_like(store: Store, settings: Settings) -> AsyncIterator[Harness]:
    """The summit bot two days before session 1, on the memory platform named "telegram"."""
    harness = Harness(store, summit(), settings, S1 - dt.timedelta(days=2), memory=TelegramLike())
    await harness.start()
    try:
        yield harness
    finally:
        await harness.worker.stop()


def summit() -> Schedule:
    """The 2020 summit's schedule."""
    return load_schedule(ROOT / "schedule.yaml")


S1 = dt.datetime(2020, 8, 13, 9, 0, tzinfo=UTC)  # 17:00 Taipei
S2 = dt.datetime(2020, 8, 17, 23, 0, tzinfo=UTC)  # 07:00 Tuesday Taipei


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Harness]:
    """The summit bot two days before session 1, on the in-memory platform."""
    settings = replace(Settings(), delivery=replace(Settings().delivery, backoff_seconds=(1,)))
    harness = Harness(store, summit(), settings, S1 - dt.timedelta(days=2))
    await harness.start()
    yield harness
    await harness.worker.stop()
