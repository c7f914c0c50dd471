"""A reminder to a large audience is written in chunks: the first messages go out while the
rest is written, a write interrupted between chunks resumes without doubling anyone, chunks
written side by side (PostgreSQL) reach everyone once, and a reminder still queued is
superseded by the next one of its session. The audience waits as parts
(bot/store/audience_parts.py) and becomes rows as the fan-out reaches it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import sqlalchemy as sa

from bot.config import Settings
from bot.scheduler import ReminderScheduler
from bot.store import Store, audience_parts
from tests.drills.world import queue_as_parts, seed_subscribers
from tests.support.conference import at as conf_at
from tests.support.conference import conference
from tests.support.harness import S1, Harness, summit

DAY = dt.timedelta(days=1)  # the first reminder of session 1: one group fires
AUDIENCE = 250
CHUNK = 100  # 250 chats: three chunks


class Crash(Exception):
    """The worker dies between two chunks."""


def settings(chunk: int = CHUNK, parallel: int = 1) -> Settings:
    """Settings with chunks of `chunk` chat pks, `parallel` of them written at once (one:
    the order in which chunks are committed is the order of their chat pks)."""
    base = Settings()
    reminders = replace(base.reminders, write_chunk=chunk, write_parallel=parallel)
    return replace(base, reminders=reminders)


@pytest.fixture
async def crowd(store: Store) -> AsyncIterator[Harness]:
    """The summit bot two days before session 1, 250 subscribers on the memory platform."""
    harness = Harness(store, summit(), settings(), S1 - 2 * DAY)
    await harness.start()
    await seed_subscribers(store, "memory", AUDIENCE, first_chat_id=1, now=harness.clock.now)
    await harness.worker.scheduler.replan()
    yield harness
    await harness.worker.stop()


def crash_after(scheduler: ReminderScheduler, chunks: int) -> list[int]:
    """Make the scheduler die after `chunks` committed chunks; returns the chunks' starts."""
    written: list[int] = []

    async def chunk_written(low: int, high: int) -> None:
        written.append(low)
        if len(written) == chunks:
            raise Crash(f"killed after chunk {chunks}")

    scheduler.chunk_written = chunk_written  # type: ignore[method-assign]
    return written


def recipients(*bots: Harness) -> Counter[str]:
    """How many messages each chat got, over every worker."""
    return Counter(s.chat_id for bot in bots for s in bot.memory.sent)


async def test_a_crash_between_chunks_resumes_and_everyone_gets_one(crowd: Harness) -> None:
    crash_after(crowd.worker.scheduler, 1)
    sent = await crowd.at(S1 - DAY)
    # The first chunk was committed before the crash: its 100 went out.
    assert len(sent) == CHUNK

    # A new worker on the same database: the group is due and not fired, so its start
    # fires it again.
    again = Harness(crowd.store, summit(), crowd.settings, crowd.clock.now)
    written = crash_after(again.worker.scheduler, 0)  # records the chunks, never crashes
    await again.start()
    await again.drain()
    # It resumed after the chunk already written, rather than starting over.
    assert written == [1 + CHUNK, 1 + 2 * CHUNK]
    got = recipients(crowd, again)
    assert len(got) == AUDIENCE
    assert set(got.values()) == {1}
    await again.worker.stop()


async def test_a_refused_chunk_is_written_at_the_next_due_check(crowd: Harness) -> None:
    crash_after(crowd.worker.scheduler, 2)
    first = await crowd.at(S1 - DAY)
    assert len(first) == 2 * CHUNK
    written = crash_after(crowd.worker.scheduler, 0)
    rest = await crowd.at(S1 - DAY + dt.timedelta(seconds=5))  # the owed group again
    assert written == [1 + 2 * CHUNK]
    assert len(rest) == AUDIENCE - 2 * CHUNK
    got = recipients(crowd)
    assert len(got) == AUDIENCE and set(got.values()) == {1}
    # Fired for good: a later re-plan writes nothing more.
    await crowd.worker.scheduler.replan()
    assert await crowd.at(S1 - DAY + dt.timedelta(minutes=1)) == []


async def test_the_first_messages_go_out_while_the_rest_is_written(crowd: Harness) -> None:
    sent_by_chunk: list[int] = []

    async def chunk_written(low: int, high: int) -> None:
        # The engine drains what is committed so far, as the woken drain loop would.
        while await crowd.worker.delivery.drain_once("memory"):
            pass
        sent_by_chunk.append(len(crowd.memory.sent))

    crowd.worker.scheduler.chunk_written = chunk_written  # type: ignore[method-assign]
    await crowd.at(S1 - DAY)
    assert sent_by_chunk == [100, 200, 250]


async def test_a_small_audience_is_one_transaction_with_the_jobs_due_together(
    store: Store,
) -> None:
    bot = Harness(store, summit(), settings(chunk=10_000), S1 - 2 * DAY)
    await bot.start()
    await seed_subscribers(store, "memory", AUDIENCE, first_chat_id=1, now=bot.clock.now)
    await bot.worker.scheduler.replan()
    written = crash_after(bot.worker.scheduler, 1)
    refs = bot.store.refs
    original = refs.set

    async def refuse(*args: object, **kwargs: object) -> None:
        raise Crash("the database refused the last statement")

    # The group's "fired" mark is written after its rows, in the same transaction.
    refs.set = refuse  # type: ignore[method-assign]
    assert await bot.at(S1 - DAY) == []
    # Nothing half-written: the rows went with the failed transaction.
    assert await bot.store.ledger.delivery_counts() == {}
    assert written == []  # one transaction, no chunks
    refs.set = original  # type: ignore[method-assign]
    sent = await bot.at(S1 - DAY + dt.timedelta(seconds=5))
    assert len(sent) == AUDIENCE
    await bot.worker.stop()


async def test_a_replan_during_a_long_write_does_not_write_it_again(crowd: Harness) -> None:
    chunks: list[int] = []
    scheduler = crowd.worker.scheduler

    async def chunk_written(low: int, high: int) -> None:
        chunks.append(low)
        if len(chunks) == 1:
            # A viewer's /subscribe asks for a re-plan while the audience is being written:
            # it sees the reminder due and not yet fired, and waits for the write to end.
            replan.append(asyncio.create_task(scheduler.replan()))
            await asyncio.sleep(0)

    replan: list[asyncio.Task[None]] = []
    scheduler.chunk_written = chunk_written  # type: ignore[method-assign]
    sent = await crowd.at(S1 - DAY)
    await replan[0]
    assert chunks == [1, 1 + CHUNK, 1 + 2 * CHUNK]  # written once, not twice
    assert len(sent) == AUDIENCE


async def crowd_of(store: Store, parallel: int) -> Harness:
    """The chunked crowd of `crowd`, `parallel` chunks written at once."""
    harness = Harness(store, summit(), settings(parallel=parallel), S1 - 2 * DAY)
    await harness.start()
    await seed_subscribers(store, "memory", AUDIENCE, first_chat_id=1, now=harness.clock.now)
    await harness.worker.scheduler.replan()
    return harness


async def test_chunks_written_side_by_side_reach_everyone_once(store: Store) -> None:
    bot = await crowd_of(store, parallel=2)
    written: list[int] = []

    async def chunk_written(low: int, high: int) -> None:
        written.append(low)

    bot.worker.scheduler.chunk_written = chunk_written  # type: ignore[method-assign]
    sent = await bot.at(S1 - DAY)
    assert sorted(written) == [1, 1 + CHUNK, 1 + 2 * CHUNK]
    assert len(sent) == AUDIENCE
    assert set(recipients(bot).values()) == {1}
    await bot.worker.stop()


async def test_a_crash_while_chunks_are_written_side_by_side_doubles_nobody(
    store: Store,
) -> None:
    bot = await crowd_of(store, parallel=2)
    # The first chunk is written alone; the crash comes while the other two are written.
    crash_after(bot.worker.scheduler, 2)
    first = await bot.at(S1 - DAY)
    # Whatever the other writer had committed went out; nothing was sent twice.
    assert 2 * CHUNK <= len(first) <= AUDIENCE
    again = await bot.restart()
    await again.drain()
    got = recipients(bot, again)
    assert len(got) == AUDIENCE
    assert set(got.values()) == {1}
    await again.worker.stop()
    await bot.worker.stop()


async def test_a_reminder_still_queued_is_superseded_by_the_next(crowd: Harness) -> None:
    # The day-before reminder is written but not sent (a backlog) when the hour-before one
    # comes due: each viewer gets only the later one.
    scheduler = crowd.worker.scheduler
    crowd.clock.now = S1 - DAY
    await scheduler.run_due(crowd.clock.now)
    hour = S1 - dt.timedelta(hours=1)
    sent = await crowd.at(hour)
    assert len(sent) == AUDIENCE
    assert set(recipients(crowd).values()) == {1}
    counts = await crowd.store.ledger.delivery_counts(kind="reminder")
    assert counts == {"sent": AUDIENCE, "expired": AUDIENCE}


async def test_two_reminders_due_at_once_send_only_the_later(crowd: Harness) -> None:
    # The worker was down through the day-before reminder: at the hour-before one both are
    # due in one batch, and the earlier is superseded as it is written.
    sent = await crowd.at(S1 - dt.timedelta(minutes=50))
    assert len(sent) == AUDIENCE
    counts = await crowd.store.ledger.delivery_counts(kind="reminder")
    assert counts == {"sent": AUDIENCE, "expired": AUDIENCE}


async def rows_and_parts(store: Store) -> tuple[int, int]:
    """Ledger rows, and recipients still in audience parts (a large reminder's audience
    waits as parts until the fan-out reaches it)."""
    length = "cardinality" if store.dialect == "postgresql" else "json_array_length"
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT count(*) FROM deliveries"))
        parts = await conn.execute(
            sa.text(f"SELECT coalesce(sum({length}(chat_pks)), 0) FROM audience_parts")
        )
        return int(rows.scalar_one()), int(parts.scalar_one())


async def test_a_large_audience_is_queued_at_once_and_becomes_rows_as_it_goes(
    crowd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audience_parts, "PART_SIZE", 50)  # 250 chats: six blocks
    scheduler = crowd.worker.scheduler
    due = S1 - DAY
    crowd.clock.now = due
    await scheduler.run_due(due)  # written, nothing sent yet
    # Everyone is queued, whatever the form: organizers' counts and the engine see them all.
    assert await crowd.store.ledger.delivery_counts(kind="reminder") == {"pending": AUDIENCE}
    assert await crowd.store.ledger.pending_by_platform() == {"memory": AUDIENCE}
    assert await crowd.store.ledger.next_due("memory") == due
    assert await rows_and_parts(crowd.store) == (0, AUDIENCE)
    # One claim: a block's rows (enough for it), not the whole audience.
    claimed = await crowd.store.ledger.claim("memory", limit=10, now=due)
    assert len(claimed) == 10
    rows, parts = await rows_and_parts(crowd.store)
    assert rows + parts == AUDIENCE and 10 <= rows <= 50
    await crowd.store.ledger.requeue_inflight(now=due)
    await crowd.drain()
    assert set(recipients(crowd).values()) == {1} and len(recipients(crowd)) == AUDIENCE
    assert await crowd.store.ledger.delivery_counts(kind="reminder") == {"sent": AUDIENCE}
    assert await rows_and_parts(crowd.store) == (AUDIENCE, 0)


async def test_same_minute_reminders_in_parts_still_arrive_as_one_message(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parts of 4 chats, chunks of 10, claims of 3: six talks of one minute, each written
    # as parts, reach each of 30 viewers as one message.
    monkeypatch.setattr(audience_parts, "PART_SIZE", 4)
    base = settings(chunk=10)
    conf = Harness(
        store,
        conference(),
        replace(base, delivery=replace(base.delivery, batch=3)),
        conf_at(2, 10, 10),
    )
    await conf.start()
    try:
        viewers = [str(100 + i) for i in range(30)]
        for chat in viewers:
            await conf.say("/remind 10m", chat_id=chat)
            for talk in ("t0401", "t0402", "t0403", "t0404", "t0405", "t0406"):  # 12:00
                await conf.say(f"/subscribe {talk}", chat_id=chat)
        sent = await conf.at(conf_at(2, 11, 50))
        assert sorted(chat for chat, _ in sent) == viewers
        assert {m.title for _, m in sent} == {"⏰ 6 sessions coming up"}
        counts = await store.ledger.delivery_counts(kind="reminder")
        assert counts == {"sent": 6 * len(viewers)}
    finally:
        await conf.worker.stop()


async def test_a_group_that_migrates_while_queued_gets_its_reminder_once(
    crowd: Harness,
) -> None:
    # Chat 7 is queued (in an audience part) when it becomes chat "1007", which a message
    # racing the migration had already made known: the reminder goes to "1007", once.
    await crowd.say("/start", chat_id="1007")
    due = S1 - DAY
    crowd.clock.now = due
    await crowd.worker.scheduler.run_due(due)
    await crowd.store.chats.migrate("memory", "7", "1007", now=due)
    await crowd.drain()
    got = recipients(crowd)
    assert got["1007"] == 1 and "7" not in got
    assert len(got) == AUDIENCE and set(got.values()) == {1}


async def test_a_claim_finds_parts_another_worker_wrote_once_it_looks_for_work(
    store: Store, database_url: str
) -> None:
    # This worker's claim found no parts; another process (a worker before a restart, a
    # standby taking over) then queues an audience as parts. The engine's idle look for due
    # work (next_due) sees them, and the next claim takes them.
    due = S1 - DAY
    await seed_subscribers(store, "memory", 30, first_chat_id=1, now=due)
    assert await store.ledger.claim("memory", limit=10, now=due) == []
    other = await Store.open(database_url)
    try:
        queued = await queue_as_parts(other, "s1@day-before", due)
    finally:
        await other.close()
    assert queued == 30
    assert await store.ledger.next_due("memory") == due
    claimed = await store.ledger.claim("memory", limit=100, now=due)
    assert sorted(int(c.chat.chat_id) for c in claimed) == list(range(1, 31))
