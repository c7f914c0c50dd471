"""The audit log: organizers' actions and refused attempts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from bot.store.db import Database
from bot.store.records import AuditRecord
from bot.store.tables import Audit

log = logging.getLogger(__name__)

# A refusal is a fact worth keeping, not a record of what was typed: its texts are cut short,
# and one user's refusals fill at most this many rows an hour; beyond it each further one
# adds one to "more" on that user's latest row (300 refused /broadcast attempts once wrote
# 300 rows of up to 500 characters). Organizers' allowed actions are always kept whole.
REFUSALS_PER_HOUR: Final = 10
REFUSAL_DETAIL_CHARS: Final = 100
_REFUSAL_WINDOW: Final = timedelta(hours=1)


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

    async def record_refusal(
        self, *, platform: str, actor: str, action: str, detail: dict[str, Any], now: datetime
    ) -> None:
        """Record a refused attempt: texts cut short, at most REFUSALS_PER_HOUR rows an hour."""
        short = {
            key: value[:REFUSAL_DETAIL_CHARS] if isinstance(value, str) else value
            for key, value in detail.items()
        }
        recent = (
            sa.select(Audit.id, Audit.detail)
            .where(
                Audit.platform == platform,
                Audit.actor == actor,
                Audit.allowed.is_(False),
                Audit.at > now - _REFUSAL_WINDOW,
            )
            .order_by(Audit.id.desc())
            .limit(REFUSALS_PER_HOUR)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(recent)).all()
            if len(rows) < REFUSALS_PER_HOUR:
                await conn.execute(
                    sa.insert(Audit).values(
                        at=now,
                        platform=platform,
                        actor=actor,
                        action=action,
                        detail=short,
                        allowed=False,
                    )
                )
                return
            latest = rows[0]
            more = int(latest.detail.get("more", 0)) + 1
            await conn.execute(
                sa.update(Audit)
                .where(Audit.id == latest.id)
                .values(detail={**latest.detail, "more": more})
            )
        if more == 1:
            log.warning(
                "audit: %s user %s was refused more than %d times within an hour; further "
                "refusals are counted on their latest audit row, not recorded one by one",
                platform,
                actor,
                REFUSALS_PER_HOUR,
            )

    async def recent(self, limit: int = 50, *, offset: int = 0) -> list[AuditRecord]:
        """Return the latest audit entries, newest first (skipping `offset`, for pages)."""
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
            .offset(offset)
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
