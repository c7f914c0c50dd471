"""Drill: a 429 storm (retry_after up to N s) in the middle of a fan-out: nothing lost.

Three waves of "Too Many Requests" hit the fan-out (at its start, a third in and two thirds
in), with retry_after N/2, N and N s; the platform's own limit (30/s) stays on. Every viewer
must get the reminder once, and nothing may be sent while a retry_after pause runs.
`python -m tests.drills.storm --recipients 600 --retry-after 10`.
"""

from __future__ import annotations

import asyncio
import sys

from bot.config import Delivery
from tests.drills.world import FanoutWorld, Verdict, finish, parser


def _sent_during_pauses(world: FanoutWorld) -> int:
    """sendMessage calls that arrived inside a pause, after the calls in flight had landed."""
    requests = world.fake.requests("sendMessage")
    pauses = [
        (r.time, float((r.response or {}).get("parameters", {}).get("retry_after", 0)))
        for r in requests
        if r.status == 429
    ]
    grace = 0.5  # calls already on their way when the first 429 came back still land
    return sum(
        1
        for request in requests
        if any(t + grace < request.time < t + wait - 0.1 for t, wait in pauses)
    )


async def run(
    recipients: int,
    retry_after: int,
    *,
    wave: int = 8,
    per_second: float = 30,
    database_url: str | None = None,
) -> Verdict:
    """Fan out to `recipients` through three waves of 429s."""
    waits = (max(1, retry_after // 2), retry_after, retry_after)
    world = FanoutWorld(
        recipients, database_url=database_url, per_second=per_second, delivery=Delivery()
    )
    async with world:
        world.fake.storm(wave, waits[0])
        await world.start()
        for fraction, wait in ((1 / 3, waits[1]), (2 / 3, waits[2])):
            await world.reached(int(recipients * fraction), within=120 + 10 * retry_after)
            world.fake.storm(wave, wait)
        budget = recipients / per_second + 10 * retry_after + 60
        counts = await world.settled(within=budget)
        verdict = world.judge(counts)
        inside = _sent_during_pauses(world)
    verdict.figures.update({"retry_after": retry_after, "waves": 3, "sent_during_pause": inside})
    verdict.check(world.fake.too_many_requests >= 3, "the storm did not happen")
    verdict.check(inside == 0, f"{inside} calls were made while the platform said to wait")
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=600)
    p.add_argument("--retry-after", type=int, default=10)
    o = p.parse_args()
    verdict = asyncio.run(
        run(o.recipients, o.retry_after, per_second=o.per_second, database_url=o.database_url)
    )
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
