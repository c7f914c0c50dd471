"""One worker per database: a second worker stands by until the first has stopped."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.store import Store, WorkerLock
from bot.store.worker_lock import ADVISORY_KEY


class _When(logging.Handler):
    """Sets `event` when a record saying `words` is logged."""

    def __init__(self, words: str, event: asyncio.Event) -> None:
        super().__init__()
        self.words, self.event = words, event

    def emit(self, record: logging.LogRecord) -> None:
        """Look at one record."""
        if self.words in record.getMessage():
            self.event.set()


async def test_a_second_worker_waits_until_the_first_lets_go(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = await Store.open(database_url), await Store.open(database_url)
    running, standby = WorkerLock(first.engine), WorkerLock(second.engine)
    try:
        assert await running.try_acquire()
        assert not await standby.try_acquire()
        assert await running.still_held()

        caplog.set_level(logging.INFO, logger="bot.store.worker_lock")
        stop = asyncio.Event()
        told = asyncio.Event()
        heard = _When("standing by", told)
        logging.getLogger("bot.store.worker_lock").addHandler(heard)
        try:
            waiting = asyncio.create_task(standby.wait(stop, poll=0.05))
            await asyncio.wait_for(told.wait(), timeout=5)
        finally:
            logging.getLogger("bot.store.worker_lock").removeHandler(heard)
        assert not waiting.done()  # the first still runs: the second keeps standing by
        assert "is already running on this database: standing by until it stops" in caplog.text
        if first.dialect == "sqlite":
            assert "pid" in caplog.text  # the lock file names who holds it
        else:
            assert "PostgreSQL backend" in caplog.text

        await running.release()  # the first worker stops
        assert await asyncio.wait_for(waiting, timeout=5) is True
        assert "taking over" in caplog.text
        assert not await running.try_acquire()  # now the second one runs
    finally:
        await standby.release()
        await running.release()
        await first.close()
        await second.close()


async def test_a_worker_standing_by_stops_when_told(database_url: str) -> None:
    first, second = await Store.open(database_url), await Store.open(database_url)
    running, standby = WorkerLock(first.engine), WorkerLock(second.engine)
    try:
        assert await running.try_acquire()
        stop = asyncio.Event()
        waiting = asyncio.create_task(standby.wait(stop, poll=0.05))
        stop.set()  # SIGTERM while standing by
        assert await asyncio.wait_for(waiting, timeout=5) is False
        assert not standby.held
    finally:
        await running.release()
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_a_lock_lost_with_its_connection_is_taken_again(postgres_test_database: str) -> None:
    # PostgreSQL only: there the lock lives on a connection, which a server restart drops.
    store = await Store.open(postgres_test_database)
    lock = WorkerLock(store.engine)
    try:
        assert await lock.try_acquire()
        async with store.engine.connect() as admin:  # the server drops the lock's session
            await admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                f" WHERE locktype = 'advisory' AND objid = {ADVISORY_KEY} AND granted"
            )
        assert await lock.still_held()  # reconnected, and nobody else had taken it
        other = WorkerLock(store.engine)
        assert not await other.try_acquire()
    finally:
        await lock.release()
        await store.close()
