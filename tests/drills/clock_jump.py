"""Drill: the clock jumps 1 hour forward, later 1 hour back: each reminder is sent once, at
its right instant (the first moment the clock shows it due), never early and never twice.

The worker runs on an injected clock that the drill moves a minute at a time, and jumps:
session 1 from 90 to 30 minutes before its start (its 1-hour reminder falls in the hour
skipped), session 2 from 55 minutes before back to 115 (its 1-hour reminder, sent already,
comes due a second time). `python -m tests.drills.clock_jump`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from dataclasses import replace

import sqlalchemy as sa

from bot.config import Reminders, Settings
from bot.store import Store
from bot.store.tables import Delivery
from tests.drills.world import Verdict, finish, parser, temp_sqlite_url
from tests.support.harness import Harness, summit

VIEWERS = ("9001", "9002", "9003")
OFFSETS = (60, 10, 0)
MINUTE = dt.timedelta(minutes=1)


def _timeline(start: dt.datetime, jump_at: dt.datetime, jump_to: dt.datetime, end: dt.datetime):
    """Clock readings a minute apart from `start`, jumping from `jump_at` to `jump_to`."""
    now = start
    while now <= jump_at:
        yield now
        now += MINUTE
    now = jump_to
    while now <= end:
        yield now
        now += MINUTE


async def run(database_url: str | None = None) -> Verdict:
    """Both jumps, then the verdict on every reminder of sessions 1 and 2."""
    schedule = summit()
    s1, s2 = schedule.sessions[0].start, schedule.sessions[1].start
    assert s1 is not None and s2 is not None
    settings = replace(Settings(), reminders=replace(Reminders(), default_offsets=OFFSETS))
    store = await Store.open(database_url or temp_sqlite_url())
    harness = Harness(store, schedule, settings, s1 - 2 * MINUTE * 60)
    readings: list[dt.datetime] = []
    sends: list[tuple[dt.datetime, str, str]] = []  # (clock, chat, ledger row)
    try:
        await harness.start()
        for viewer in VIEWERS:
            await harness.say("/subscribe s1", chat_id=viewer)
            await harness.say("/subscribe s2", chat_id=viewer)
        timelines = (
            _timeline(s1 - 120 * MINUTE, s1 - 90 * MINUTE, s1 - 30 * MINUTE, s1 + 5 * MINUTE),
            _timeline(s2 - 70 * MINUTE, s2 - 55 * MINUTE, s2 - 115 * MINUTE, s2 + 5 * MINUTE),
        )
        for timeline in timelines:
            for now in timeline:
                readings.append(now)
                before = len(harness.memory.sent)
                await harness.at(now)
                sends += [(now, s.chat_id, s.key) for s in harness.memory.sent[before:]]
        async with store.engine.connect() as conn:
            rows = {
                str(r.id): r
                for r in await conn.execute(
                    sa.select(Delivery.id, Delivery.session_id, Delivery.ref, Delivery.due_at)
                )
            }
    finally:
        await harness.worker.stop()
        await store.close()

    verdict = Verdict()
    got: dict[tuple[str, str, int], list[dt.datetime]] = {}
    for clock, chat, key in sends:
        row = rows[key]
        offset = int(row.ref.split(":")[1])
        got.setdefault((chat, row.session_id, offset), []).append(clock)
    early = late = twice = lost = 0
    for viewer in VIEWERS:
        for session_id, start in (("s1", s1), ("s2", s2)):
            for offset in OFFSETS:
                due = start - offset * MINUTE
                right = next(t for t in readings if t >= due)  # the first reading past due
                clocks = got.pop((viewer, session_id, offset), [])
                lost += not clocks
                verdict.check(len(clocks) == 1, f"{viewer} {session_id} -{offset}m: {clocks}")
                twice += max(0, len(clocks) - 1)
                early += sum(1 for c in clocks if c < due)
                late += sum(1 for c in clocks if c > right)
    verdict.check(not got, f"unexpected sends: {got}")
    verdict.figures = {
        "sent": len(sends),
        "expected": len(VIEWERS) * 2 * len(OFFSETS),
        "early": early,
        "late": late,
        "twice": twice,
        "lost": lost,
    }
    verdict.check(early == 0 and late == 0, f"{early} early, {late} late")
    return verdict


def main() -> int:
    """Command line: run the drill; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    o = p.parse_args()
    return finish(asyncio.run(run(o.database_url)), o.json)


if __name__ == "__main__":
    sys.exit(main())
