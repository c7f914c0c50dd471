"""The Store: opens the database, brings its schema up to date, hands out the repositories.

Every repository call runs in its own short transaction (or joins the one of
`Store.transaction()`) and returns plain frozen records, so callers never hold ORM objects
or open transactions.  Every time written is passed in by the caller (an injected clock),
never read from the system.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.audit import AuditLog
from bot.store.broadcasts import StoredBroadcasts
from bot.store.calendar_tokens import CalendarTokens
from bot.store.chats import Chats
from bot.store.dashboard_tokens import DashboardTokens
from bot.store.db import Database, make_engine
from bot.store.ledger import Ledger
from bot.store.ledger_counts import LedgerCounts
from bot.store.migrate import upgrade_engine
from bot.store.platform_refs import PlatformRefs
from bot.store.schedule_versions import ScheduleVersions


class Store:
    """The bot's database: open with ``await Store.open(url)``, close with ``await close()``.

    Its repositories: `chats` (chats, subscriptions, preferences), `ledger` (deliveries),
    `broadcasts`, `audit`, `schedules` (versions put in force), `refs` (platform ids) and
    `calendar_tokens` (the secrets of personal calendar feeds),
    `ledger_counts` (old ledger rows pruned into counts).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine made by make_engine; prefer Store.open, which also migrates."""
        self._db = Database(engine)
        self.chats = Chats(self._db)
        self.ledger = Ledger(self._db)
        self.broadcasts = StoredBroadcasts(self._db)
        self.audit = AuditLog(self._db)
        self.schedules = ScheduleVersions(self._db)
        self.refs = PlatformRefs(self._db)
        self.dashboard = DashboardTokens(self._db)
        self.calendar_tokens = CalendarTokens(self._db)
        self.ledger_counts = LedgerCounts(self._db)

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect to url, bring the schema up to date, and return the store."""
        engine = make_engine(url)
        try:
            await upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._db.engine.dispose()

    async def __aenter__(self) -> Store:
        """Use the store as an async context manager that closes it on exit."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        await self.close()

    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]:
        """The database kind: "sqlite" or "postgresql"."""
        return self._db.dialect

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (for tests and maintenance scripts)."""
        return self._db.engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run every repository call inside the block in one transaction (one commit).

        Used where many small writes belong together, e.g. a thousand reminders due at once:
        one commit instead of thousands keeps the first send close to its due instant.
        """
        async with self._db.transaction():
            yield
