"""The schedules put in force, by event and revision (what a reload compares against)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.tables import ScheduleVersion


class ScheduleVersions:
    """The schedule versions repository: `store.schedules`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def last(self, event_id: str, *, before: int | None = None) -> tuple[int, str] | None:
        """The latest schedule put in force for the event (below revision `before`, if
        given): (revision, YAML), or None."""
        stmt = (
            sa.select(ScheduleVersion.revision, ScheduleVersion.text)
            .where(ScheduleVersion.event_id == event_id)
            .order_by(ScheduleVersion.revision.desc())
            .limit(1)
        )
        if before is not None:
            stmt = stmt.where(ScheduleVersion.revision < before)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (int(row.revision), str(row.text))

    async def texts(self, event_id: str) -> list[str]:
        """Every schedule put in force for the event, oldest first, as YAML."""
        stmt = (
            sa.select(ScheduleVersion.text)
            .where(ScheduleVersion.event_id == event_id)
            .order_by(ScheduleVersion.revision)
        )
        async with self._db.read() as conn:
            return [str(text) for text in (await conn.execute(stmt)).scalars()]

    async def save(
        self, event_id: str, revision: int, text: str, *, source: str, now: datetime
    ) -> None:
        """Record the schedule put in force as `revision` (which must be new for the event)."""
        stmt = sa.insert(ScheduleVersion).values(
            event_id=event_id, revision=revision, source=source[-256:], text=text, applied_at=now
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
