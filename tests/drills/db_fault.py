"""Drill: the database refuses writes across a reminder's due instant, then accepts them again:
every recipient gets the reminder exactly once, worded for when it arrives.

The worker runs for real (APScheduler job, delivery engine, Telegram adapter against the fake
Bot API). Session 1 starts a few seconds after the worker; just before, the database starts
refusing writes, so the reminder's job cannot write its ledger rows. Once the scheduler has
logged a few refused attempts, `--late` minutes pass on the worker's clock at once (the
outage is not waited out) and the database takes writes again: the reminder must reach every
recipient once, saying the session "started N minutes ago".
`python -m tests.drills.db_fault --recipients 1500 --late 3`.

How the database refuses (tests run as root, where chmod does not make a file read-only):
SQLite gets `PRAGMA query_only=ON` on every connection the pool hands out while the fault
lasts, and then answers every write with "attempt to write a readonly database" itself;
PostgreSQL gets `ALTER DATABASE ... SET default_transaction_read_only = on` with the
database's sessions terminated, so that every new session is read-only ("cannot execute
INSERT in a read-only transaction") until the setting is reset and the sessions cut again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import asyncpg
from sqlalchemy import event

from bot.config import Settings
from bot.i18n import languages
from bot.i18n.formatting import format_relative
from bot.store import Store
from tests.drills.world import FanoutWorld, Verdict, finish, parser

UTC = dt.UTC


class WriteFault:
    """Makes the database itself refuse every write between `begin()` and `end()`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.active = False
        self._hooked = False

    def _checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Every transaction starts with a checkout, so each one sees the fault as it is now.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA query_only={'ON' if self.active else 'OFF'}")
        finally:
            cursor.close()

    async def _postgres(self, read_only: bool) -> None:
        url = self.store.engine.url
        name = url.database
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            # This session too would be read-only while the fault lasts: ending it needs a
            # writable one.
            await conn.execute("SET default_transaction_read_only = off")
            change = (
                "SET default_transaction_read_only = on"
                if read_only
                else "RESET default_transaction_read_only"
            )
            await conn.execute(f'ALTER DATABASE "{name}" {change}')
            # Sessions read the database's defaults when they begin: cut the open ones (the
            # pool's pre-ping reconnects them).
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await conn.close()

    async def begin(self) -> None:
        """From now on, every transaction that writes fails in the database."""
        self.active = True
        if self.store.dialect == "postgresql":
            await self._postgres(read_only=True)
        elif not self._hooked:
            event.listen(self.store.engine.sync_engine, "checkout", self._checkout)
            self._hooked = True

    async def end(self) -> None:
        """Writes succeed again (SQLite: from each connection's next checkout)."""
        self.active = False
        if self.store.dialect == "postgresql":
            await self._postgres(read_only=False)

    async def close(self) -> None:
        """End the fault if it lasts, and remove the hook."""
        if self.active:
            await self.end()
        if self._hooked:
            event.remove(self.store.engine.sync_engine, "checkout", self._checkout)
            self._hooked = False
            # Pooled connections may still be query_only and no hook resets them now: the
            # pool starts afresh (one in use is closed when it comes back).
            await self.store.engine.dispose()


@asynccontextmanager
async def refusing_writes(store: Store) -> AsyncIterator[WriteFault]:
    """The database refuses writes inside the block."""
    fault = WriteFault(store)
    await fault.begin()
    try:
        yield fault
    finally:
        await fault.close()


class ShiftedClock:
    """The real time plus a shift that the drill moves (an outage's minutes passed at once)."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(UTC) + self.shift


class Warnings(logging.Handler):
    """Counts the warnings of one logger: the scheduler logs one per refused write."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the line."""
        self.lines.append(record.getMessage())


class DueWorld(FanoutWorld):
    """The fan-out world with the scheduler's retry waits and re-plan period of the drill."""

    def __init__(self, recipients: int, retry: tuple[float, ...], **kwargs: Any) -> None:
        super().__init__(recipients, **kwargs)
        self.retry = retry

    def settings(self) -> Settings:
        """The fan-out world's settings, with the drill's retry waits."""
        settings = super().settings()
        reminders = replace(settings.reminders, write_retry_seconds=self.retry)
        return replace(settings, reminders=reminders)


def late_wordings(late: dt.timedelta, spread: dt.timedelta = dt.timedelta(0)) -> set[str]:
    """How "N minutes ago" reads in each language, for a reminder sent between `late` and
    `late + spread` after the start (a fan-out takes time: each is worded as it leaves)."""
    start = dt.datetime(2020, 1, 1, tzinfo=UTC)
    # Whole minutes either side: the wording rounds ("3 min 40 s ago" may read "4 minutes").
    first = int(late.total_seconds() // 60)
    last = -int(-(late + spread).total_seconds() // 60)
    minutes = range(first, last + 1)
    return {
        format_relative(start, start + dt.timedelta(minutes=m), code)
        for m in minutes
        for code in languages()
    }


async def run(
    recipients: int,
    *,
    late_minutes: float = 3,
    lead: float = 3.0,
    refusals: int = 3,
    retry: tuple[float, ...] = (0.5, 1, 2),
    per_second: float = 30,
    database_url: str | None = None,
) -> Verdict:
    """The fault across the due instant, `refusals` refused writes, then the recovery."""
    clock = ShiftedClock()
    late = dt.timedelta(minutes=late_minutes)
    warnings = Warnings()
    logger = logging.getLogger("bot.scheduler")
    logger.addHandler(warnings)
    problems: list[str] = []
    world = DueWorld(recipients, retry, database_url=database_url, per_second=per_second)
    try:
        async with world:
            assert world.store is not None
            fault = WriteFault(world.store)
            try:
                worker = await world.start(starts_in=dt.timedelta(seconds=lead), clock=clock)
                due = worker.schedule.sessions[0].start
                assert due is not None
                await fault.begin()
                if clock() >= due:
                    problems.append(f"the worker took over {lead} s to start: raise --lead")
                budget = lead + sum(retry) + retry[-1] * refusals + 30
                try:
                    await world.until(
                        lambda: len(warnings.lines) >= refusals, budget, "refused writes"
                    )
                except TimeoutError:
                    problems.append(
                        f"the scheduler logged {len(warnings.lines)} refused write(s) of the"
                        f" reminder, not {refusals}, within {budget:.0f} s"
                    )
                sent_during_fault = len(world.delivered())
                clock.shift += late  # the outage lasted `late` on the worker's clock
            finally:
                await fault.close()
            recovered = clock()
            counts = await world.settled(within=recipients / per_second + 60)
            verdict = world.judge(counts)
            # The fan-out runs at the platform's rate, on the worker's (shifted real) clock: a
            # reminder is worded for the moment it leaves, from recovery to the last send.
            wordings = late_wordings(recovered - due, clock() - recovered)
            texts = [r.text or "" for r in world.fake.requests("sendMessage") if r.ok]
            misworded = [text for text in texts if not any(w in text for w in wordings)]
    finally:
        logger.removeHandler(warnings)
    verdict.problems[:0] = problems
    verdict.check(sent_during_fault == 0, f"{sent_during_fault} sent while nothing was written")
    verdict.check(
        not misworded,
        f"{len(misworded)} reminders not worded as {sorted(wordings)} late, e.g. {misworded[:1]}",
    )
    verdict.figures.update(
        {
            "late_minutes": late_minutes,
            "refused_writes_logged": len(warnings.lines),
            "first_refusal": warnings.lines[0] if warnings.lines else None,
        }
    )
    return verdict


def main() -> int:
    """Command line: the drill at the size asked; exit 1 on failure."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--recipients", type=int, default=1500)
    p.add_argument("--late", type=float, default=3, help="minutes the outage lasts")
    p.add_argument("--lead", type=float, default=3, help="seconds from start to the due instant")
    p.add_argument("--refusals", type=int, default=3, help="refused writes before recovery")
    p.add_argument("--retry", default="0.5,1,2", help="the scheduler's retry waits, seconds")
    o = p.parse_args()
    verdict = asyncio.run(
        run(
            o.recipients,
            late_minutes=o.late,
            lead=o.lead,
            refusals=o.refusals,
            retry=tuple(float(x) for x in o.retry.split(",")),
            per_second=o.per_second,
            database_url=o.database_url,
        )
    )
    return finish(verdict, o.json)


if __name__ == "__main__":
    sys.exit(main())
