"""A viewer who asks while a fan-out runs is answered at the next free place, not after it."""

from __future__ import annotations

import asyncio
import itertools

from bot.adapters.base import Limits
from bot.delivery.pacing import PlatformPacer

# Ten messages a second overall: the fan-out is spread one at a time, a tenth of a second apart.
LIMITS = Limits(4096, 10, 1, 20)


async def test_a_reply_goes_before_fanout_messages_already_waiting() -> None:
    pacer = PlatformPacer(LIMITS)
    order: list[str] = []

    async def fanout(chat: str) -> None:
        async with pacer.sending(chat, group=False):
            order.append(chat)

    async def reply() -> None:
        async with pacer.replying("viewer", group=False):
            order.append("reply")

    waiting = [asyncio.create_task(fanout(f"subscriber-{i}")) for i in range(6)]
    await asyncio.sleep(0)  # every fan-out message has asked for its place
    await reply()
    await asyncio.gather(*waiting)
    # The first fan-out message had gone; the reply came next, before the five still waiting.
    assert order[:2] == ["subscriber-0", "reply"]
    assert sorted(order[2:]) == [f"subscriber-{i}" for i in range(1, 6)]


async def test_a_fanout_is_spread_over_the_second_not_sent_in_one_burst() -> None:
    pacer = PlatformPacer(LIMITS)
    started = asyncio.get_running_loop().time()
    times: list[float] = []

    async def fanout(chat: str) -> None:
        async with pacer.sending(chat, group=False):
            times.append(asyncio.get_running_loop().time() - started)

    await asyncio.gather(*(fanout(f"subscriber-{i}") for i in range(5)))
    # Ten a second, at most one (a tenth of the rate) at once: the fifth leaves after ~0.4 s,
    # where a window alone would have let all five out at once.
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap > 0.05 for gap in gaps), gaps
