"""Organizers' broadcasts as stored, and which chats an audience reaches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.audience import Audience, AudienceKind
from bot.constants import EVERY_LANGUAGE, BroadcastStatus, ChatStatus
from bot.store.chats import subscribed_to
from bot.store.db import Database
from bot.store.records import Author, BroadcastRecord, member
from bot.store.tables import Broadcast, Chat, Subscription

_BROADCAST_COLUMNS = (
    Broadcast.id,
    Broadcast.created_by,
    Broadcast.origin_platform,
    Broadcast.texts,
    Broadcast.audience,
    Broadcast.status,
    Broadcast.send_at,
    Broadcast.created_at,
    Broadcast.finished_at,
)


def _broadcast(row: sa.Row[*tuple[Any, ...]]) -> BroadcastRecord:
    return BroadcastRecord(
        id=row.id,
        created_by=Author.parse(row.created_by),
        origin_platform=row.origin_platform,
        texts=dict(row.texts),
        audience=Audience.from_json(row.audience),
        status=BroadcastStatus(row.status),
        send_at=row.send_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def audience_filter(
    audience: Audience, groups: Sequence[str] = ()
) -> list[sa.ColumnElement[bool]]:
    """The conditions on Chat that select the audience's active chats (`groups`: the markers
    of a session audience's track and room, whose followers get the session too)."""
    subscribed = Chat.id.in_(sa.select(Subscription.chat_pk))
    conditions: list[sa.ColumnElement[bool]] = [Chat.status == ChatStatus.ACTIVE]
    if audience.kind is AudienceKind.ALL:
        conditions.append(subscribed)
    elif audience.kind is AudienceKind.SESSION and audience.session is not None:
        conditions.append(subscribed_to(audience.session, groups))
    elif audience.kind is AudienceKind.LANGUAGE and audience.language is not None:
        chosen = Chat.language == audience.language
        if audience.language == audience.default:
            # A chat that never chose a language reads the event's first one.
            chosen = sa.or_(chosen, Chat.language.is_(None))
        conditions += [subscribed, chosen]
    elif audience.kind is AudienceKind.CHANNELS:
        conditions.append(Chat.language == EVERY_LANGUAGE)  # announcement channels
    else:
        # Organizers are reached chat by chat (notify_organizers), never by a filter.
        raise ValueError(f"unknown audience kind {audience.kind.value!r}")
    if audience.platforms:
        conditions.append(Chat.platform.in_(list(audience.platforms)))
    return conditions


class StoredBroadcasts:
    """The broadcasts repository: `store.broadcasts`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def create(
        self,
        *,
        created_by: Author,
        origin_platform: str,
        texts: dict[str, str],
        audience: Audience,
        send_at: datetime,
        now: datetime,
        status: str = BroadcastStatus.SCHEDULED,
    ) -> BroadcastRecord:
        """Store a new broadcast and return it."""
        stmt = (
            sa.insert(Broadcast)
            .values(
                created_by=str(created_by),
                origin_platform=origin_platform,
                texts=texts,
                audience=audience.as_json(),
                status=str(member(BroadcastStatus, status, "broadcast status")),
                send_at=send_at,
                created_at=now,
            )
            .returning(*_BROADCAST_COLUMNS)
        )
        async with self._db.write() as conn:
            return _broadcast((await conn.execute(stmt)).one())

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        """Return the broadcast, or None."""
        stmt = sa.select(*_BROADCAST_COLUMNS).where(Broadcast.id == broadcast_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _broadcast(row)

    async def recent(self, *, status: str | None = None, limit: int = 50) -> list[BroadcastRecord]:
        """Return broadcasts, newest first, optionally of one status."""
        stmt = sa.select(*_BROADCAST_COLUMNS).order_by(Broadcast.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Broadcast.status == status)
        async with self._db.read() as conn:
            return [_broadcast(row) for row in await conn.execute(stmt)]

    async def set_status(
        self, broadcast_id: int, status: str, *, now: datetime
    ) -> BroadcastRecord | None:
        """Change a broadcast's status ("done"/"cancelled" also set finished_at)."""
        new_status = member(BroadcastStatus, status, "broadcast status")
        values: dict[str, Any] = {"status": str(new_status)}
        if new_status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            values["finished_at"] = now
        stmt = (
            sa.update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(values)
            .returning(*_BROADCAST_COLUMNS)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _broadcast(row)

    async def count_audience(
        self, audience: Audience, groups: Sequence[str] = ()
    ) -> dict[str, int]:
        """How many chats a broadcast to `audience` reaches, by platform."""
        stmt = (
            sa.select(Chat.platform, sa.func.count())
            .where(*audience_filter(audience, groups))
            .group_by(Chat.platform)
        )
        async with self._db.read() as conn:
            return {platform: int(n) for platform, n in await conn.execute(stmt)}
