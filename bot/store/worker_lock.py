"""One worker per database: a second worker stands by until the first one has stopped.

Two workers draining one ledger would double messages: each hands the other's in-flight rows
back to pending when it starts, and Telegram answers the second poller with 409 Conflict. An
operator meets this in a rolling deploy, or with a Procfile scaled to two dynos. The lock
dies with its process, so a crash never leaves it stuck. PostgreSQL uses a session advisory
lock on a connection held for the worker's life (the server drops it when the connection
goes). SQLite uses an flock on a file beside the database (the kernel drops it when the
process goes).

A lock is only as good as the holder's knowledge of it. A worker whose host loses the database
(a network partition) cannot tell that the server dropped its session and that the standby
took the lock. So the lock is also a lease: the holder confirms it every second and stops
sending (`fresh()` turns false) when it has not confirmed it for `LEASE` seconds; a standby
that takes the lock from another worker, or finds that the last holder never let go (a crash,
a partition: its mark is still in `platform_refs`), waits `TAKEOVER_GRACE` (longer than the
lease) before it starts. The old worker has stopped sending before the new one starts,
whichever side of the partition the database is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
import time
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x53554D4D  # "SUMM": the advisory lock's id, shared by every summit-bot worker
# Seconds a holder may go without confirming the lock before it stops sending, and how
# often it confirms it.
LEASE = 3.0
CONFIRM_EVERY = 1.0
# Seconds a standby waits after taking the lock from another worker before it sends: more
# than the lease, so that a holder cut off from the database has stopped sending by then.
TAKEOVER_GRACE = LEASE + 1.0


# The holder's mark in platform_refs: there while a worker holds the lock, deleted when it lets
# go; found by the next holder, it means the last one may still be sending somewhere.
_MARK = {"p": "worker", "k": "lock", "key": "holder"}


def _me() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class WorkerLock:
    """The database's worker lock: taken before a worker starts, held while it runs."""

    def __init__(
        self, engine: AsyncEngine, *, lease: float = LEASE, grace: float = TAKEOVER_GRACE
    ) -> None:
        self._engine = engine
        self.lease = lease
        self.grace = grace
        self._confirmed = 0.0  # time.monotonic() of the last confirmation (PostgreSQL)
        self._confirmed_event = asyncio.Event()
        # Whether the worker that held the lock before did not let go of it (PostgreSQL): it
        # may have been cut off from the database while still sending.
        self.unclean_predecessor = False
        self._connection: AsyncConnection | None = None  # PostgreSQL: the lock's session
        self._file: IO[str] | None = None  # SQLite: the locked file
        database = engine.url.database
        self._path = (
            Path(f"{database}.worker-lock")
            if engine.dialect.name == "sqlite" and database and database != ":memory:"
            else None
        )

    @property
    def held(self) -> bool:
        """Whether this process holds the lock."""
        return self._connection is not None or self._file is not None

    def fresh(self) -> bool:
        """Whether this worker may send: it holds the lock and confirmed it within the lease.

        A file lock cannot be lost while the process lives; a PostgreSQL lock can, with its
        connection, without the holder knowing until it asks.
        """
        if self._engine.dialect.name != "postgresql":
            return True  # SQLite's flock (or an in-memory database): held for the process's life
        return self.held and time.monotonic() - self._confirmed < self.lease

    async def until_fresh(self) -> None:
        """Return once this worker may send (at once, while the lease is fresh)."""
        while not self.fresh():
            self._confirmed_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._confirmed_event.wait(), timeout=CONFIRM_EVERY)

    def _confirm(self) -> None:
        self._confirmed = time.monotonic()
        self._confirmed_event.set()

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        if self.held:
            return True
        if self._engine.dialect.name == "postgresql":
            return await self._try_advisory()
        if self._path is None:
            return True  # an in-memory database is this process's alone
        return self._try_file(self._path)

    async def _try_advisory(self) -> bool:
        connection = await self._engine.connect()
        try:
            query = sa.text("SELECT pg_try_advisory_lock(:key)")
            got = bool((await connection.execute(query, {"key": ADVISORY_KEY})).scalar())
            await connection.commit()  # the lock belongs to the session, not the transaction
        except BaseException:
            await connection.close()
            raise
        if got:
            self._connection = connection
            self._confirm()
            try:
                self.unclean_predecessor = await self._mark(connection)
            except Exception:  # no mark could be read: assume the worst, and wait
                log.exception("the worker lock's mark could not be read or written")
                with contextlib.suppress(Exception):
                    await connection.rollback()
                self.unclean_predecessor = True
        else:
            await connection.close()
        return got

    def _try_file(self, path: Path) -> bool:
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(_me() + "\n")  # for the operator, and for the worker standing by
        handle.flush()
        self._file = handle
        return True

    async def holder(self) -> str:
        """Who holds the lock, as far as this database can tell."""
        if self._path is not None:
            with contextlib.suppress(OSError):
                found = self._path.read_text(encoding="utf-8").strip()
                if found:
                    return found
        if self._engine.dialect.name == "postgresql":
            query = sa.text(
                "SELECT a.pid, a.client_addr FROM pg_locks l JOIN pg_stat_activity a"
                " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.classid = 0 AND l.objid = :key"
            )
            with contextlib.suppress(Exception):
                async with self._engine.connect() as connection:
                    row = (await connection.execute(query, {"key": ADVISORY_KEY})).first()
                if row is not None:
                    where = row.client_addr or "a local socket"
                    return f"the worker on PostgreSQL backend {row.pid} (from {where})"
        return "another worker"

    async def wait(self, stop: asyncio.Event, *, poll: float = 2.0) -> bool:
        """Take the lock, standing by while another worker holds it; False if `stop` came first."""
        told = False
        while not stop.is_set():
            if await self.try_acquire():
                if told or self.unclean_predecessor:
                    # The other worker may be cut off from the database rather than gone:
                    # past its lease it has stopped sending, whatever it knows.
                    log.info(
                        "the other worker has let go: taking over in %.0f s, once it has "
                        "surely stopped sending",
                        self.grace,
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.grace)
                    if stop.is_set():
                        await self.release()
                        return False
                return True
            if not told:
                log.warning(
                    "%s is already running on this database: standing by until it stops",
                    await self.holder(),
                )
                told = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)
        return False

    async def still_held(self) -> bool:
        """Whether the lock is still ours; a PostgreSQL lock lost with its connection (a
        database restart) is taken again if nobody else has it."""
        if self._engine.dialect.name != "postgresql":
            return self.held
        if self._connection is not None:
            try:
                # A partition makes a query hang rather than fail: bounded by the lease.
                async with asyncio.timeout(self.lease):
                    await self._connection.execute(sa.text("SELECT 1"))
                    await self._connection.commit()
                self._confirm()
                return True
            except Exception:
                log.warning("the worker lock's connection was lost: taking the lock again")
                with contextlib.suppress(Exception):
                    await self._connection.close()
                self._connection = None
        try:
            async with asyncio.timeout(self.lease):
                return await self._try_advisory()
        except Exception:
            # The database is out of reach: no sending meanwhile (the lease runs out), and no
            # stopping either, since it may be back before anyone else took the lock.
            return True

    @staticmethod
    async def _mark(connection: AsyncConnection) -> bool:
        """Leave this holder's mark; whether the last holder's was still there."""
        found = await connection.execute(
            sa.text(
                "SELECT value FROM platform_refs WHERE platform = :p AND kind = :k AND key = :key"
            ),
            _MARK,
        )
        before = found.scalar() is not None
        await connection.execute(
            sa.text(
                "INSERT INTO platform_refs (platform, kind, key, value, updated_at)"
                " VALUES (:p, :k, :key, :me, :now) ON CONFLICT (platform, kind, key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            ),
            {**_MARK, "me": _me()[:256], "now": dt.datetime.now(dt.UTC)},
        )
        await connection.commit()
        return before

    async def release(self) -> None:
        """Let the next worker take over."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # let go cleanly: the next one need not wait
                await connection.execute(
                    sa.text(
                        "DELETE FROM platform_refs"
                        " WHERE platform = :p AND kind = :k AND key = :key"
                    ),
                    _MARK,
                )
                await connection.commit()
            with contextlib.suppress(Exception):
                await connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                await connection.commit()
            with contextlib.suppress(Exception):
                await connection.close()
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
