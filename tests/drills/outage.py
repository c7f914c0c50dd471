"""Drill: the Bot API goes down (connections refused) for N s in the middle of a fan-out:
nothing lost. `python -m tests.drills.outage --recipients 1500 --down 30`."""

from __future__ import annotations

import asyncio
import sys

from bot.config import Delivery
from tests.drills.world import FanoutWorld, Verdict, finish, parser


async def run(
    recipients: int,
    down: float,
    *,
    backoff: tuple[float, ...] = Delivery().backoff_seconds,
    per_second: float = 30,
    database_url: str | None = None,
) -> Verdict:
    """Fan out to `recipients`; a third in, the platform is down for `down` seconds."""
    delivery = Delivery(backoff_seconds=backoff)
    world = FanoutWorld(
        recipients, database_url=database_url, per_second=per_second, delivery=delivery
    )
    async with world:
        await world.start()
        await world.reached(recipients // 3, within=recipients / per_second + 60)
        await world.fake.outage(down)  # returns when the platform is back
        budget = recipients / per_second + sum(backoff) + 60
        counts = await world.settled(within=budget)
        verdict = world.judge(counts, in_flight_duplicates=True)
        retried = await world.retried_rows()
    verdict.figures.update({"down": down, "retried_rows": retried, "outages": world.fake.outages})
    verdict.check(retried > 0, "the outage hit no send")
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=1500)
    p.add_argument("--down", type=float, default=30)
    p.add_argument(
        "--backoff", help="retry waits in seconds, e.g. 0.5,1,2 (default: the configured ones)"
    )
    o = p.parse_args()
    backoff = (
        tuple(float(x) for x in o.backoff.split(",")) if o.backoff else Delivery().backoff_seconds
    )
    verdict = asyncio.run(
        run(
            o.recipients,
            o.down,
            backoff=backoff,
            per_second=o.per_second,
            database_url=o.database_url,
        )
    )
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
