"""Drill: 10% of the recipients blocked the bot: all marked blocked, none retried, the rest
delivered. `python -m tests.drills.blocked --recipients 1000`."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

import sqlalchemy as sa

from bot.store.tables import Chat, Delivery
from tests.drills.world import FanoutWorld, Verdict, finish, parser


async def run(
    recipients: int, *, per_second: float = 30, database_url: str | None = None
) -> Verdict:
    """Fan out to `recipients`, every tenth of whom blocked the bot."""
    world = FanoutWorld(recipients, database_url=database_url, per_second=per_second)
    async with world:
        blocked = world.chat_ids[::10]
        world.fake.block_many(blocked)
        await world.start()
        counts = await world.settled(within=recipients / per_second + 60)
        verdict = world.judge(counts, expect_blocked=blocked)
        attempts: Counter[int] = Counter(
            r.chat_id
            for r in world.fake.requests("sendMessage")
            if isinstance(r.chat_id, int) and r.chat_id in set(blocked)
        )
        assert world.store is not None
        async with world.store.engine.connect() as conn:
            by_status = sa.select(Chat.status, sa.func.count()).group_by(Chat.status)
            statuses = {status: n for status, n in await conn.execute(by_status)}
            row_attempts = (
                await conn.execute(
                    sa.select(sa.func.max(Delivery.attempts)).where(Delivery.status == "blocked")
                )
            ).scalar_one()
    retried = sum(1 for n in attempts.values() if n > 1)
    verdict.figures.update(
        {"blocked": len(blocked), "retried": retried, "chat_statuses": statuses}
    )
    verdict.check(retried == 0, f"{retried} blocked chats were tried more than once")
    verdict.check(row_attempts == 1, f"a blocked row took {row_attempts} attempts")
    verdict.check(
        statuses.get("blocked") == len(blocked),
        f"chat statuses {statuses}, {len(blocked)} blocked",
    )
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=1000)
    o = p.parse_args()
    verdict = asyncio.run(run(o.recipients, per_second=o.per_second, database_url=o.database_url))
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
