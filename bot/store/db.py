"""The engine (SQLite pragmas, the write-lock hook) and the transactions repositories share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final, Literal, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store.urls import to_async_url

Dialect = Literal["sqlite", "postgresql"]

# SQLite waits this long for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Execution option telling the SQLite "begin" hook to take the write lock up front.
WRITE_OPTION: Final = "summit_bot_write"
# Rows (or ids) per statement: stays below SQLite's and asyncpg's 32766 bind-parameter caps.
CHUNK: Final = 1000

T = TypeVar("T")

# The connection of the transaction a task is in (see Database.transaction).
_CURRENT: ContextVar[AsyncConnection | None] = ContextVar("summit_store_tx", default=None)


def chunks(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """`items` cut into slices of at most `size`, one statement's worth each."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def make_engine(url: str) -> AsyncEngine:
    """Create an async engine for url with the store's connection settings (WAL etc. on SQLite)."""
    async_url = to_async_url(url)
    if async_url.startswith("sqlite"):
        engine = create_async_engine(async_url)
        _configure_sqlite(engine)
        return engine
    # pre_ping: survive a PostgreSQL restart without failing the first query after it.
    return create_async_engine(async_url, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the sqlite3 module from issuing its own BEGINs (it skips them before
        # SELECT and DDL); the "begin" hook below emits them instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL: readers never block the writer and vice versa.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL cannot corrupt the database; a power cut may lose the
            # last commits (at worst a reminder sent twice), and it saves an fsync per
            # commit (about 6 ms here), which would otherwise cap claim/mark_sent rates.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads first and writes later can fail with
        # SQLITE_BUSY without waiting; writers take the lock at BEGIN and queue instead.
        write = bool(conn.get_execution_options().get(WRITE_OPTION, False))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine and its connections, shared by every repository of a Store.

    Each `read()`/`write()` is its own short transaction, unless the task is inside
    `transaction()`, whose connection every call then joins.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine made by make_engine (SQLite or PostgreSQL only)."""
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {name!r}")
        self.engine = engine
        self.dialect: Dialect = "sqlite" if name == "sqlite" else "postgresql"
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        # SQLite has one writer at a time. Left to its busy handler, a writer waiting for the
        # lock sleeps and retries (up to 100 ms apart) and loses to a series of short
        # transactions: the engine's first claim waited out a whole chunked million-chat
        # write (0.63 s of 0.65). This process's writers take turns in order instead; other
        # processes still meet the busy handler.
        self._turn: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run every read and write inside the block in one transaction (one commit)."""
        if _CURRENT.get() is not None:  # already inside one: join it
            yield
            return
        async with self._write_turn(), self._writer.begin() as conn:
            token = _CURRENT.set(conn)
            try:
                yield
            finally:
                _CURRENT.reset(token)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction (the current one inside `transaction()`)."""
        current = _CURRENT.get()
        if current is not None:
            yield current
            return
        async with self._write_turn(), self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """This process's turn to write (SQLite: in order of asking; PostgreSQL: at once)."""
        if self._turn is None:
            yield
            return
        async with self._turn:
            yield

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading (the current one inside `transaction()`)."""
        current = _CURRENT.get()
        if current is not None:
            yield current
            return
        async with self.engine.connect() as conn:
            yield conn

    def insert(self, table: Any) -> sqlite.Insert | postgresql.Insert:
        """An INSERT of the dialect (the generic one has no ON CONFLICT)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
