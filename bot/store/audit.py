"""The audit log: organizers' actions and refused attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.records import AuditRecord
from bot.store.tables import Audit


REFUSALS_PER_HOUR = 10
REFUSAL_DETAIL_CHARS = 100


class AuditLog:
    """The audit repository: `store.audit`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def record(
        self,
        *,
        platform: str,
        actor: str,
        action: str,
        detail: dict[str, Any],
        allowed: bool,
        now: datetime,
    ) -> None:
        """Record an organizer action (or a refused attempt)."""
        stmt = sa.insert(Audit).values(
            at=now, platform=platform, actor=actor, action=action, detail=detail, allowed=allowed
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def recent(self, limit: int = 50) -> list[AuditRecord]:
        """Return the latest audit entries, newest first."""
        stmt = (
            sa.select(
                Audit.id,
                Audit.at,
                Audit.platform,
                Audit.actor,
                Audit.action,
                Audit.detail,
                Audit.allowed,
            )
            .order_by(Audit.at.desc(), Audit.id.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            AuditRecord(
                id=r.id,
                at=r.at,
                platform=r.platform,
                actor=r.actor,
                action=r.action,
                detail=dict(r.detail),
                allowed=bool(r.allowed),
            )
            for r in rows
        ]
