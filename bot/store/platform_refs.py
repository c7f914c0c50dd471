"""Platform ids the bot must remember, by (platform, kind, key): e.g. Discord event ids."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.tables import PlatformRef


class PlatformRefs:
    """The platform refs repository: `store.refs`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def get(self, platform: str, kind: str, key: str) -> str | None:
        """Return the stored platform id for (platform, kind, key), or None."""
        stmt = sa.select(PlatformRef.value).where(
            PlatformRef.platform == platform, PlatformRef.kind == kind, PlatformRef.key == key
        )
        async with self._db.read() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def set(self, platform: str, kind: str, key: str, value: str, *, now: datetime) -> None:
        """Store (or replace) the platform id for (platform, kind, key)."""
        insert = self._db.insert(PlatformRef).values(
            platform=platform, kind=kind, key=key, value=value, updated_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["platform", "kind", "key"],
            set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def delete(self, platform: str, kind: str, key: str) -> bool:
        """Forget the platform id for (platform, kind, key); True if there was one."""
        stmt = (
            sa.delete(PlatformRef)
            .where(
                PlatformRef.platform == platform,
                PlatformRef.kind == kind,
                PlatformRef.key == key,
            )
            .returning(PlatformRef.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def all(self, platform: str, kind: str) -> dict[str, str]:
        """Return every key → value stored for (platform, kind)."""
        stmt = sa.select(PlatformRef.key, PlatformRef.value).where(
            PlatformRef.platform == platform, PlatformRef.kind == kind
        )
        async with self._db.read() as conn:
            return {key: value for key, value in await conn.execute(stmt)}
