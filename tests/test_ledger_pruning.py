"""The ledger kept in check: rows settled more than `delivery.keep_days` ago are deleted in
batches, their counts kept, so totals (statistics, broadcast reports) still add up."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from bot.adapters.base import Blocked
from bot.audience import Audience
from bot.config import Settings
from bot.store import Author, Store
from bot.store.tables import Delivery
from tests.support.harness import S1, S2, Harness, summit

DAY = dt.timedelta(days=1)


@pytest.fixture
async def bot(store: Store) -> AsyncIterator[Harness]:
    """The summit bot two days before session 1, keeping settled rows 30 days."""
    base = Settings()
    settings = replace(base, delivery=replace(base.delivery, keep_days=30))
    harness = Harness(store, summit(), settings, S1 - 2 * DAY)
    await harness.start()
    yield harness
    await harness.worker.stop()


async def rows(store: Store) -> int:
    """Rows in the ledger itself."""
    async with store.engine.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(Delivery))).scalar_one()
        )


async def test_old_settled_rows_go_and_their_counts_stay(bot: Harness) -> None:
    for chat in ("100", "101", "102"):
        await bot.say("/subscribe all", chat_id=chat)
    bot.memory.fail("102", Blocked("bot was blocked by the user"))
    assert len(await bot.at(S1 - DAY)) == 2  # session 1's day-before reminder
    assert len(await bot.at(S2 - DAY)) == 2  # session 2's, four days later
    totals = await bot.store.ledger.delivery_counts(kind="reminder")
    # The chat that blocked the bot is not queued again.
    assert totals == {"sent": 4, "blocked": 1}
    assert await rows(bot.store) == 5

    # 31 days after session 1's reminder, 27 after session 2's: only the first ones go.
    bot.clock.now = S1 - DAY + 31 * DAY
    assert await bot.worker.pruner.prune(batch=2, pause=0) == 3  # in batches of 2
    assert await rows(bot.store) == 2
    assert await bot.store.ledger.delivery_counts(kind="reminder") == totals
    s1 = await bot.store.ledger.delivery_counts(ref_prefix="s1:")
    assert s1 == {"sent": 2, "blocked": 1}

    # A month later everything settled is gone, and still counted once.
    bot.clock.now += 30 * DAY
    assert await bot.worker.pruner.prune() == 2
    assert await rows(bot.store) == 0
    assert await bot.store.ledger.delivery_counts(kind="reminder") == totals
    assert await bot.store.ledger_counts.total() == 5


async def test_pending_rows_are_never_pruned(bot: Harness) -> None:
    await bot.say("/subscribe s1")
    bot.clock.now = S1 - DAY
    await bot.worker.scheduler.run_due(bot.clock.now)  # queued, not sent
    bot.clock.now += 100 * DAY
    assert await bot.worker.pruner.prune() == 0
    assert await bot.store.ledger.delivery_counts() == {"pending": 1}


async def test_a_broadcast_report_adds_up_after_pruning(bot: Harness) -> None:
    for chat in ("100", "101"):
        await bot.say("/subscribe s1", chat_id=chat)
    record = await bot.store.broadcasts.create(
        created_by=Author.cli("ops"),
        origin_platform="cli",
        texts={"en": "Hello everyone"},
        audience=Audience.everyone(),
        send_at=bot.clock.now,
        now=bot.clock.now,
    )
    assert await bot.worker.broadcasts.enqueue(record.id, now=bot.clock.now) == 2
    await bot.drain()
    before = await bot.store.ledger.delivery_counts(broadcast_id=record.id)
    assert before == {"sent": 2}
    bot.clock.now += 40 * DAY
    assert await bot.worker.pruner.prune() == 2
    assert await bot.store.ledger.delivery_counts(broadcast_id=record.id) == before
    report = await bot.worker.broadcasts.report(record.id, "en", summit(), bot.clock.now)
    assert "2 sent" in report.plain()


async def test_keep_days_zero_keeps_everything(store: Store) -> None:
    base = Settings()
    settings = replace(base, delivery=replace(base.delivery, keep_days=0))
    bot = Harness(store, summit(), settings, S1 - 2 * DAY)
    await bot.start()
    await bot.say("/subscribe s1")
    assert len(await bot.at(S1 - DAY)) == 1
    bot.clock.now += 1000 * DAY
    assert await bot.worker.pruner.prune() == 0
    assert await rows(store) == 1
    await bot.worker.stop()
