"""One worker per database: a second worker stands by until the first one has stopped.

Two workers draining one ledger would double messages: each hands the other's in-flight rows
back to pending when it starts, and Telegram answers the second poller with 409 Conflict. An
operator meets this in a rolling deploy, or with a Procfile scaled to two dynos. The lock
dies with its process, so a crash never leaves it stuck. PostgreSQL uses a session advisory
lock on a connection held for the worker's life (the server drops it when the connection
goes). SQLite uses an flock on a file beside the database (the kernel drops it when the
process goes).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x53554D4D  # "SUMM": the advisory lock's id, shared by every summit-bot worker


def _me() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class WorkerLock:
    """The database's worker lock: taken before a worker starts, held while it runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
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
                if told:
                    log.info("the other worker has stopped: taking over")
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
                await self._connection.execute(sa.text("SELECT 1"))
                await self._connection.commit()
                return True
            except Exception:
                log.warning("the worker lock's connection was lost: taking the lock again")
                with contextlib.suppress(Exception):
                    await self._connection.close()
                self._connection = None
        try:
            return await self._try_advisory()
        except Exception:
            return True  # the database is still down: nobody else can take the lock meanwhile

    async def release(self) -> None:
        """Let the next worker take over."""
        connection, self._connection = self._connection, None
        if connection is not None:
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
