"""How many sends a fan-out keeps in flight: a tenth of a second of the platform's rate (at
least 8, at most 100) unless the operator set `delivery.in_flight`."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from bot.adapters.base import Limits, Recipient
from bot.adapters.memory import MemoryAdapter
from bot.config import Settings
from bot.delivery.engine import in_flight_for
from bot.messages import Message
from bot.store import Store
from tests.drills.world import seed_subscribers
from tests.support.harness import S1, Harness, summit

AUDIENCE = 150


class SlowPlatform(MemoryAdapter):
    """A platform whose sends take a while (a round trip), counting how many overlap."""

    def __init__(self, per_second: float, round_trip: float) -> None:
        super().__init__()
        self.round_trip = round_trip
        # Per chat and per group as generous as the overall rate: only the window counts.
        self.limits = Limits(4096, per_second, per_second, per_second * 60)
        self.open = 0
        self.most_open = 0

    async def send(self, to: Recipient, message: Message, *, key: str) -> None:
        """Take the message after a round trip, counting the sends open meanwhile."""
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await asyncio.sleep(self.round_trip)
            await super().send(to, message, key=key)
        finally:
            self.open -= 1


async def most_in_flight(
    store: Store, per_second: float, *, round_trip: float = 0.02, in_flight: int = 0
) -> int:
    """Send session 1's first reminder to the audience; the most sends that overlapped."""
    base = Settings()
    settings = replace(base, delivery=replace(base.delivery, in_flight=in_flight, batch=200))
    platform = SlowPlatform(per_second, round_trip)
    bot = Harness(store, summit(), settings, S1 - dt.timedelta(days=2), memory=platform)
    await bot.start()
    try:
        await seed_subscribers(store, "memory", AUDIENCE, first_chat_id=1, now=bot.clock.now)
        await bot.worker.scheduler.replan()
        sent = await bot.at(S1 - dt.timedelta(days=1))
    finally:
        await bot.worker.stop()
    assert len(sent) == AUDIENCE  # everyone got it, whatever the window
    return platform.most_open


async def test_paid_broadcasts_keep_a_tenth_of_a_second_of_messages_in_flight(
    store: Store,
) -> None:
    # 1,000 messages a second: a round trip of 20 ms would cap 8 sends in flight at 400/s.
    assert await most_in_flight(store, 1000) == 100


async def test_a_low_rate_keeps_the_window_of_eight(store: Store) -> None:
    # 60 a second goes out six per tenth of a second; sends of 0.15 s would overlap 12 deep.
    assert await most_in_flight(store, 60, round_trip=0.15) == 8


async def test_an_operators_window_wins_over_the_rate(store: Store) -> None:
    assert await most_in_flight(store, 1000, in_flight=12) == 12


@pytest.mark.parametrize(
    ("setting", "per_second", "window"),
    [(0, 30, 8), (0, 50, 8), (0, 200, 20), (0, 1000, 100), (0, 10_000, 100), (3, 1000, 3)],
)
def test_the_window_follows_the_rate_within_bounds(
    setting: int, per_second: float, window: int
) -> None:
    assert in_flight_for(setting, Limits(4096, per_second, 1, 20)) == window
