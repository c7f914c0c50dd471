"""The delivery ledger: one row per message and recipient, enqueued, claimed, then settled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from bot.audience import Audience
from bot.constants import ChatStatus, DeliveryKind, DeliveryStatus
from bot.store import audience_parts
from bot.store.broadcasts import audience_filter
from bot.store.chats import chat_record, subscribed_to
from bot.store.db import CHUNK, Database, chunks
from bot.store.ledger_statements import (
    BLOCK_CHAT,
    LEDGER_CHATS,
    LEDGER_PENDING_BEFORE,
    MARK_BLOCKED,
    MARK_SENT,
    RETRY_LATER,
    SET_FINAL,
    claim_statement,
)
from bot.store.records import ChatRecord, Claimed, NewDelivery, member
from bot.store.tables import AudiencePart, Chat, Delivery, DeliveryCount, UtcDateTime

_MAX_REF_LEN = 160


class Ledger:
    """The ledger repository: `store.ledger`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`, with the claim statement built for its dialect."""
        self._db = db
        self._claim = claim_statement(db.dialect)
        # A large reminder's audience is written as parts (audience_parts.py), which are
        # read wherever rows are. False: written as rows (bench million compares the two).
        self.write_parts = True
        # Platforms that had no audience part when a claim last looked: their claims skip
        # the parts' probes (two statements a claim, 0.04 CPU-s per 1,000 messages). Looked
        # at again once new work is announced (`expect_parts`) or next_due sees a part.
        self._without_parts: set[str] = set()
        self._announced = 0

    # ---------------------------------------------------------------------- enqueue

    async def enqueue_session_audience(
        self,
        *,
        session_id: str,
        kind: str,
        ref: str,
        due_at: datetime,
        offset_minutes: int | None,
        default_offsets: Sequence[int],
        now: datetime,
        only_without_quiet: bool = False,
        chat_pks: Sequence[int] | None = None,
        groups: Sequence[str] = (),
        pk_range: tuple[int, int] | None = None,
        compact: bool = False,
    ) -> int:
        """Add one pending row per active subscriber of the session (directly, via "*" or
        via one of `groups`, the markers of its track and room); return rows inserted.

        `compact` with a `pk_range` and no `chat_pks`: the chunk is written as audience
        parts (recipients the claim turns into rows later, audience_parts.py) and the count
        is of the recipients in the parts written.
        """
        # offset_minutes (if not None) keeps chats whose effective offsets contain it;
        # only_without_quiet keeps chats without quiet hours; chat_pks restricts to those
        # chats; pk_range (low included, high excluded) to chats whose pk is in it (one
        # chunk of a large audience).  Rows already in the ledger (same chat, kind, ref) are
        # left alone, which makes a repeated or concurrent enqueue harmless.
        delivery_kind = member(DeliveryKind, kind, "delivery kind")
        if len(ref) > _MAX_REF_LEN:
            raise ValueError(f"ref too long ({len(ref)} > {_MAX_REF_LEN}): {ref[:40]!r}...")
        conditions: list[sa.ColumnElement[bool]] = [
            Chat.status == ChatStatus.ACTIVE,
            subscribed_to(session_id, groups, pk_range),
        ]
        if offset_minutes is not None:
            contains = Chat.offsets.like(f"%,{int(offset_minutes)},%")
            if offset_minutes in default_offsets:
                conditions.append(sa.or_(Chat.offsets.is_(None), contains))
            else:
                conditions.append(contains)
        if only_without_quiet:
            conditions.append(Chat.quiet_start.is_(None))
        if pk_range is not None:
            conditions += [Chat.id >= pk_range[0], Chat.id < pk_range[1]]
        pks = [None] if chat_pks is None else chunks(chat_pks)
        inserted = 0
        async with self._db.write() as conn:
            if compact and self.write_parts and pk_range is not None and chat_pks is None:
                parts = audience_parts.write_statement(
                    self._db.dialect,
                    conditions,
                    kind=delivery_kind,
                    ref=ref,
                    session_id=session_id,
                    due_at=due_at,
                    now=now,
                )
                return sum((await conn.execute(parts)).scalars())
            # A chunk of a large audience written for the first time (the usual case) has no
            # row to skip: a plain INSERT. ON CONFLICT's speculative insertion doubled
            # PostgreSQL's cost per row (2.1 s for 200,000 rows against 1.0 s, EXPLAIN
            # ANALYZE); an anti-join in the statement was planned as a nested loop over the
            # rows being written. A chunk written again (a resumed write) takes ON CONFLICT.
            # The unique (chat, kind, ref) holds either way: a concurrent write of the same
            # rows (never done: fires are serialized, one worker sends) would fail and be
            # written again.
            fresh = pk_range is not None and not await self._any_written(
                conn, delivery_kind, ref, pk_range
            )
            for chunk in pks:
                where = conditions if chunk is None else [*conditions, Chat.id.in_(chunk)]
                inserted += await self._insert_for_chats(
                    conn,
                    where,
                    kind=delivery_kind,
                    ref=ref,
                    due_at=due_at,
                    now=now,
                    session_id=session_id,
                    on_conflict=not fresh,
                )
        return inserted

    @staticmethod
    async def _any_written(
        conn: AsyncConnection, kind: DeliveryKind, ref: str, pk_range: tuple[int, int]
    ) -> bool:
        """Whether any row (kind, ref) exists for a chat in `pk_range` (one index probe)."""
        stmt = (
            sa.select(Delivery.id)
            .where(
                Delivery.chat_pk >= pk_range[0],
                Delivery.chat_pk < pk_range[1],
                Delivery.kind == kind,
                Delivery.ref == ref,
            )
            .limit(1)
        )
        return (await conn.execute(stmt)).first() is not None

    async def enqueue_broadcast(
        self,
        broadcast_id: int,
        audience: Audience,
        *,
        due_at: datetime,
        now: datetime,
        groups: Sequence[str] = (),
    ) -> int:
        """One pending ledger row per chat of the audience, in one statement; return the count
        (`groups`: a session audience's track and room markers)."""
        async with self._db.write() as conn:
            return await self._insert_for_chats(
                conn,
                audience_filter(audience, groups),
                kind=DeliveryKind.BROADCAST,
                ref=str(broadcast_id),
                due_at=due_at,
                now=now,
                broadcast_id=broadcast_id,
            )

    async def _insert_for_chats(
        self,
        conn: AsyncConnection,
        where: Sequence[sa.ColumnElement[bool]],
        *,
        kind: DeliveryKind,
        ref: str,
        due_at: datetime,
        now: datetime,
        session_id: str | None = None,
        broadcast_id: int | None = None,
        on_conflict: bool = True,
    ) -> int:
        """One pending row per chat matching `where`, in a single INSERT … SELECT (the database
        does the fan-out, not Python); rows already in the ledger are left alone by ON
        CONFLICT DO NOTHING (`on_conflict` False: a plain INSERT, for a caller that knows
        none is there; one that is fails on the unique (chat, kind, ref))."""
        source = sa.select(
            Chat.id,
            Chat.platform,
            sa.literal(str(kind), sa.String),
            sa.literal(ref, sa.String),
            sa.literal(session_id, sa.String),
            sa.literal(broadcast_id, sa.Integer),
            sa.literal(DeliveryStatus.PENDING, sa.String),
            sa.literal(0, sa.Integer),
            sa.literal(due_at, UtcDateTime()),
            sa.literal(now, UtcDateTime()),
            sa.literal(now, UtcDateTime()),
        ).where(*where)
        columns = [
            "chat_pk",
            "platform",
            "kind",
            "ref",
            "session_id",
            "broadcast_id",
            "status",
            "attempts",
            "due_at",
            "created_at",
            "updated_at",
        ]
        stmt = self._db.insert(Delivery).from_select(columns, source)
        if on_conflict:
            stmt = stmt.on_conflict_do_nothing(index_elements=["chat_pk", "kind", "ref"])
        return int((await conn.execute(stmt)).rowcount)

    async def enqueue_chats(self, rows: Sequence[NewDelivery], *, now: datetime) -> int:
        """Insert explicit ledger rows, skipping existing ones and unknown chats; return count."""
        kinds = [member(DeliveryKind, row.kind, "delivery kind") for row in rows]
        if not rows:
            return 0
        inserted = 0
        async with self._db.write() as conn:
            platforms: dict[int, str] = {}
            for chunk in chunks(sorted({r.chat_pk for r in rows})):
                result = await conn.execute(
                    sa.select(Chat.id, Chat.platform).where(Chat.id.in_(chunk))
                )
                platforms.update((pk, platform) for pk, platform in result)
            values = [
                {
                    "chat_pk": r.chat_pk,
                    "platform": platforms[r.chat_pk],
                    "kind": str(kind),
                    "ref": r.ref,
                    "session_id": r.session_id,
                    "broadcast_id": r.broadcast_id,
                    "status": DeliveryStatus.PENDING,
                    "attempts": 0,
                    "due_at": r.due_at,
                    "created_at": now,
                    "updated_at": now,
                }
                for r, kind in zip(rows, kinds, strict=True)
                if r.chat_pk in platforms
            ]
            for chunk_values in chunks(values, CHUNK // 2):
                stmt = (
                    self._db.insert(Delivery)
                    .values(list(chunk_values))
                    .on_conflict_do_nothing(index_elements=["chat_pk", "kind", "ref"])
                    .returning(Delivery.id)
                )
                inserted += len((await conn.execute(stmt)).all())
        return inserted

    async def expire_superseded(
        self, session_id: str, *, now: datetime, pk_range: tuple[int, int] | None = None
    ) -> int:
        """Expire pending reminders of the session superseded by a later due one; return count.

        `pk_range` (low included, high excluded) limits it to those chats: one chunk's.
        """
        # When several reminders of one session are overdue at once, only the latest goes
        # out: a pending reminder is superseded once the same chat has a reminder of the
        # same session that is due later but already due now (whatever its status).
        newer = aliased(Delivery, name="newer")
        rows: list[sa.ColumnElement[bool]] = []
        newer_rows: list[sa.ColumnElement[bool]] = []
        if pk_range is not None:
            # Both sides bounded: else each chunk would read every reminder row of the session.
            rows = [Delivery.chat_pk >= pk_range[0], Delivery.chat_pk < pk_range[1]]
            newer_rows = [newer.chat_pk >= pk_range[0], newer.chat_pk < pk_range[1]]
        stmt = (
            sa.update(Delivery)
            .where(
                Delivery.kind == DeliveryKind.REMINDER,
                Delivery.session_id == session_id,
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.due_at < now,
                *rows,
                sa.exists().where(
                    newer.chat_pk == Delivery.chat_pk,
                    newer.kind == DeliveryKind.REMINDER,
                    newer.session_id == session_id,
                    newer.due_at > Delivery.due_at,
                    newer.due_at <= now,
                    *newer_rows,
                ),
            )
            .values(
                status=DeliveryStatus.EXPIRED,
                last_error="superseded by a later reminder",
                updated_at=now,
            )
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount

    async def pending_reminder_before(self, session_id: str, before: datetime) -> bool:
        """Whether a reminder of the session due before `before` is still pending: one that
        a reminder due at `before` would supersede."""
        # Read along the claim index (platform, status, due_at), one range per platform: it
        # visits only rows pending and due earlier (a backlog, usually none), where a filter
        # on the session alone would read the whole ledger.
        async with self._db.read() as conn:
            for platform in await _platforms(conn):
                values = {"b_platform": platform, "before": before, "session_id": session_id}
                if (await conn.execute(LEDGER_PENDING_BEFORE, values)).first() is not None:
                    return True
            return await audience_parts.pending_before(conn, session_id, before)

    def expect_parts(self) -> None:
        """New rows or parts were committed: the next claims look for parts again."""
        self._announced += 1
        self._without_parts.clear()

    async def rows_for_session(
        self, session_id: str, pk_range: tuple[int, int] | None, *, now: datetime
    ) -> int:
        """Turn the session's reminder parts (of the chats in `pk_range`) into ledger rows,
        before a reminder that may supersede them is written; return rows added."""
        async with self._db.write() as conn:
            return await audience_parts.rows_for_session(conn, session_id, pk_range, now=now)

    async def cancel_broadcast_rows(self, broadcast_id: int, *, now: datetime) -> int:
        """Expire a broadcast's rows not yet sent; return how many."""
        stmt = (
            sa.update(Delivery)
            .where(
                Delivery.broadcast_id == broadcast_id, Delivery.status == DeliveryStatus.PENDING
            )
            .values(
                status=DeliveryStatus.EXPIRED, last_error="broadcast cancelled", updated_at=now
            )
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount

    # ------------------------------------------------------------------ claim, settle

    async def claim(self, platform: str, *, limit: int, now: datetime) -> list[Claimed]:
        """Move up to limit due pending rows of the platform to "sending" and return them."""
        # Rows whose chat is no longer active are marked "blocked" in the same transaction
        # and not returned.  Concurrent claimers never receive the same row.
        out: list[Claimed] = []
        async with self._db.write() as conn:
            # The parts a claim of `limit` rows reaches become rows first.
            announced = self._announced
            if platform not in self._without_parts:
                left = await audience_parts.rows_for_claim(conn, platform, want=limit, now=now)
                # None left; unless work was announced meanwhile, whose parts may have been
                # committed after the look.
                if not left and announced == self._announced:
                    self._without_parts.add(platform)
            # Claim first and look at the chats after: the cost stays proportional to
            # limit, whereas filtering on chat status up front means scanning every due
            # row.  Rows of inactive chats are settled and the batch topped up.
            while len(out) < limit:
                batch = (
                    await conn.execute(
                        self._claim,
                        {"b_platform": platform, "now": now, "limit": limit - len(out)},
                    )
                ).all()
                if not batch:
                    break
                chats: dict[int, ChatRecord] = {}
                for chunk in chunks(sorted({r.chat_pk for r in batch})):
                    result = await conn.execute(LEDGER_CHATS, {"pks": list(chunk)})
                    chats.update((row.id, chat_record(row)) for row in result)
                inactive: dict[str, list[int]] = {}
                for r in batch:
                    chat = chats.get(r.chat_pk)
                    if chat is None:  # deleted while its rows were written (no foreign key)
                        inactive.setdefault("gone", []).append(r.id)
                        continue
                    if chat.status != ChatStatus.ACTIVE:
                        inactive.setdefault(chat.status, []).append(r.id)
                        continue
                    out.append(
                        Claimed(
                            id=r.id,
                            kind=DeliveryKind(r.kind),
                            ref=r.ref,
                            session_id=r.session_id,
                            broadcast_id=r.broadcast_id,
                            attempts=r.attempts,
                            due_at=r.due_at,
                            chat=chat,
                        )
                    )
                for chat_status, ids in inactive.items():
                    await conn.execute(
                        sa.update(Delivery)
                        .where(Delivery.id.in_(ids))
                        .values(
                            status=DeliveryStatus.BLOCKED,
                            last_error=f"chat is {chat_status}",
                            # Nothing was attempted: undo the claim's bookkeeping.
                            attempts=Delivery.attempts - 1,
                            claimed_at=None,
                            updated_at=now,
                        )
                    )
                if not inactive:
                    break
        # RETURNING order is unspecified.
        out.sort(key=lambda c: (c.due_at, c.id))
        return out

    async def claim_alongside(self, claimed: Sequence[Claimed], *, now: datetime) -> list[Claimed]:
        """Claim the pending reminders due in the same minute, to the same chats, as the
        claimed reminders: a chat's reminders of one minute go out as one message, even
        when a batch's limit split them (the rows are claimed as `claim` claims them)."""
        windows: dict[datetime, dict[int, ChatRecord]] = {}
        taken = {row.id for row in claimed}
        for row in claimed:
            if row.kind == DeliveryKind.REMINDER:
                minute = row.due_at.replace(second=0, microsecond=0)
                windows.setdefault(minute, {})[row.chat.pk] = row.chat
        out: list[Claimed] = []
        if not windows:
            return out
        async with self._db.write() as conn:
            for platform in sorted({row.chat.platform for row in claimed} - self._without_parts):
                mine = {
                    minute: {pk for pk, chat in chats.items() if chat.platform == platform}
                    for minute, chats in windows.items()
                }
                await audience_parts.rows_alongside(conn, platform, mine, now=now)
            for minute, chats in windows.items():
                for chunk in chunks(sorted(chats)):
                    stmt = (
                        sa.update(Delivery)
                        .where(
                            Delivery.status == DeliveryStatus.PENDING,
                            Delivery.kind == DeliveryKind.REMINDER,
                            Delivery.chat_pk.in_(chunk),
                            Delivery.due_at >= minute,
                            Delivery.due_at < minute + timedelta(minutes=1),
                            Delivery.due_at <= now,
                            sa.or_(Delivery.not_before.is_(None), Delivery.not_before <= now),
                        )
                        .values(
                            status=DeliveryStatus.SENDING,
                            claimed_at=now,
                            attempts=Delivery.attempts + 1,
                            updated_at=now,
                        )
                        .returning(
                            Delivery.id,
                            Delivery.chat_pk,
                            Delivery.ref,
                            Delivery.session_id,
                            Delivery.attempts,
                            Delivery.due_at,
                        )
                    )
                    for r in await conn.execute(stmt):
                        if r.id in taken:
                            continue
                        out.append(
                            Claimed(
                                id=r.id,
                                kind=DeliveryKind.REMINDER,
                                ref=r.ref,
                                session_id=r.session_id,
                                broadcast_id=None,
                                attempts=r.attempts,
                                due_at=r.due_at,
                                chat=chats[r.chat_pk],
                            )
                        )
        out.sort(key=lambda c: (c.due_at, c.id))
        return out

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> int:
        """Mark rows as sent; return how many were updated (one transaction for all)."""
        updated = 0
        async with self._db.write() as conn:
            for chunk in chunks(list(ids)):
                result = await conn.execute(MARK_SENT, {"ids": list(chunk), "now": now})
                updated += result.rowcount
        return updated

    async def mark_blocked(self, delivery_id: int, error: str, now: datetime) -> None:
        """Mark the row blocked and the chat blocked (its other rows are settled by claim)."""
        async with self._db.write() as conn:
            chat_pk = (
                await conn.execute(MARK_BLOCKED, {"b_id": delivery_id, "error": error, "now": now})
            ).scalar_one_or_none()
            if chat_pk is not None:
                # A chat that "left" stays "left": that is the more precise state.
                await conn.execute(BLOCK_CHAT, {"pk": chat_pk, "now": now})

    async def _set_final(
        self, delivery_id: int, status: DeliveryStatus, error: str, now: datetime
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                SET_FINAL,
                {"b_id": delivery_id, "b_status": str(status), "error": error, "now": now},
            )

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        """Mark the row failed for good."""
        await self._set_final(delivery_id, DeliveryStatus.FAILED, error, now)

    async def mark_expired(self, delivery_id: int, reason: str, now: datetime) -> None:
        """Mark the row expired (too late to be worth sending)."""
        await self._set_final(delivery_id, DeliveryStatus.EXPIRED, reason, now)

    async def retry_later(
        self, delivery_id: int, not_before: datetime, error: str, now: datetime
    ) -> None:
        """Put the row back to pending, not to be claimed before not_before."""
        async with self._db.write() as conn:
            await conn.execute(
                RETRY_LATER,
                {"b_id": delivery_id, "b_not_before": not_before, "error": error, "now": now},
            )

    async def requeue_inflight(self, *, now: datetime, platform: str | None = None) -> int:
        """Put rows left "sending" by a crash back to pending (one platform's, or all)."""
        stmt = (
            sa.update(Delivery)
            .where(Delivery.status == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.PENDING, updated_at=now)
        )
        if platform is not None:
            stmt = stmt.where(Delivery.platform == platform)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount

    # ------------------------------------------------------------------------ counts

    async def delivery_counts(
        self,
        *,
        kind: str | None = None,
        ref_prefix: str | None = None,
        broadcast_id: int | None = None,
        ref: str | None = None,
    ) -> dict[str, int]:
        """Count ledger rows by status, optionally filtered (statuses with no rows absent).

        Rows pruned after `delivery.keep_days` still count: their totals are kept apart.
        """
        counted: dict[str, int] = {}

        def narrowed(stmt: Any, table: Any) -> Any:
            if kind is not None:
                stmt = stmt.where(table.kind == kind)
            if ref_prefix is not None:
                # autoescape: a '_' or '%' in a session id is literal, not a wildcard.
                stmt = stmt.where(table.ref.startswith(ref_prefix, autoescape=True))
            if ref is not None:
                stmt = stmt.where(table.ref == ref)
            return stmt

        async with self._db.read() as conn:
            for table, count in (
                (Delivery, sa.func.count()),
                (DeliveryCount, sa.func.sum(DeliveryCount.count)),
            ):
                stmt = narrowed(sa.select(table.status, count).group_by(table.status), table)
                if broadcast_id is not None:
                    stmt = stmt.where(table.broadcast_id == broadcast_id)
                for status, n in await conn.execute(stmt):
                    counted[status] = counted.get(status, 0) + int(n)
            if broadcast_id is None:  # parts are reminders' pending rows
                parts = narrowed(sa.select(audience_parts.size(self._db.dialect)), AudiencePart)
                waiting = int((await conn.execute(parts)).scalar_one())
                if waiting:
                    pending = str(DeliveryStatus.PENDING)
                    counted[pending] = counted.get(pending, 0) + waiting
        return counted

    async def unsettled_refs(self, kind: str, *, due_by: datetime) -> dict[str, datetime]:
        """Refs of `kind` with rows not yet settled and due by `due_by`: each one's due instant
        (a fan-out under way, for its progress report)."""
        stmt = (
            sa.select(Delivery.ref, sa.type_coerce(sa.func.min(Delivery.due_at), UtcDateTime()))
            .where(
                Delivery.kind == kind,
                Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
                Delivery.due_at <= due_by,
            )
            .group_by(Delivery.ref)
        )
        async with self._db.read() as conn:
            refs = {ref: due for ref, due in await conn.execute(stmt)}
            parts = (
                sa.select(
                    AudiencePart.ref,
                    sa.type_coerce(sa.func.min(AudiencePart.due_at), UtcDateTime()),
                )
                .where(AudiencePart.kind == kind, AudiencePart.due_at <= due_by)
                .group_by(AudiencePart.ref)
            )
            for ref, due in await conn.execute(parts):
                refs[ref] = min(due, refs.get(ref, due))
        return refs

    async def last_reminder_ref(self, now: datetime) -> str | None:
        """The ref of the latest reminder due by `now` (for organizers' statistics)."""
        stmt = (
            sa.select(Delivery.ref, Delivery.due_at)
            .where(Delivery.kind == DeliveryKind.REMINDER, Delivery.due_at <= now)
            .order_by(Delivery.due_at.desc(), Delivery.id.desc())
            .limit(1)
        )
        async with self._db.read() as conn:
            latest = (await conn.execute(stmt)).first()
            parts = (
                sa.select(AudiencePart.ref, AudiencePart.due_at)
                .where(AudiencePart.kind == DeliveryKind.REMINDER, AudiencePart.due_at <= now)
                .order_by(AudiencePart.due_at.desc(), AudiencePart.id.desc())
                .limit(1)
            )
            part = (await conn.execute(parts)).first()
            if part is not None and (latest is None or part.due_at > latest.due_at):
                latest = part
        return None if latest is None else str(latest.ref)

    async def pending_count(self, platform: str | None = None) -> int:
        """Count pending rows (of one platform, or all)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING)
        )
        if platform is not None:
            stmt = stmt.where(Delivery.platform == platform)
        async with self._db.read() as conn:
            count = int((await conn.execute(stmt)).scalar_one())
            parts = sa.select(audience_parts.size(self._db.dialect))
            if platform is not None:
                parts = parts.where(AudiencePart.platform == platform)
            count += int((await conn.execute(parts)).scalar_one())
        return count

    async def pending_by_platform(self) -> dict[str, int]:
        """Count pending rows per platform (platforms with none absent)."""
        stmt = (
            sa.select(Delivery.platform, sa.func.count())
            .where(Delivery.status == DeliveryStatus.PENDING)
            .group_by(Delivery.platform)
        )
        async with self._db.read() as conn:
            counts = {platform: int(n) for platform, n in await conn.execute(stmt)}
            parts = sa.select(
                AudiencePart.platform, audience_parts.size(self._db.dialect)
            ).group_by(AudiencePart.platform)
            for platform, n in await conn.execute(parts):
                counts[platform] = counts.get(platform, 0) + int(n)
        return counts

    async def next_due(self, platform: str) -> datetime | None:
        """Earliest time a pending row of the platform becomes claimable (None if none)."""
        effective = sa.case(
            (
                sa.and_(Delivery.not_before.is_not(None), Delivery.not_before > Delivery.due_at),
                Delivery.not_before,
            ),
            else_=Delivery.due_at,
        )
        stmt = sa.select(sa.type_coerce(sa.func.min(effective), UtcDateTime())).where(
            Delivery.platform == platform, Delivery.status == DeliveryStatus.PENDING
        )
        async with self._db.read() as conn:
            value: datetime | None = (await conn.execute(stmt)).scalar_one()
            parts = sa.select(
                sa.type_coerce(sa.func.min(AudiencePart.due_at), UtcDateTime())
            ).where(AudiencePart.platform == platform)
            part: datetime | None = (await conn.execute(parts)).scalar_one()
            if part is not None:
                self._without_parts.discard(platform)
                if value is None or part < value:
                    value = part
        return value

    async def recent_failures(self, limit: int = 20) -> list[tuple[datetime, str, str, str]]:
        """The latest rows that failed or were blocked: (when, platform, ref, error)."""
        stmt = (
            sa.select(Delivery.updated_at, Delivery.platform, Delivery.ref, Delivery.last_error)
            .where(Delivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.BLOCKED]))
            .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [(at, p, ref, err or "") for at, p, ref, err in await conn.execute(stmt)]


async def _platforms(conn: AsyncConnection) -> list[str]:
    """The platforms of the chats, one probe of their unique (platform, chat_id) each (where
    SELECT DISTINCT would read every chat)."""
    found: list[str] = []
    while True:
        stmt = sa.select(sa.func.min(Chat.platform))
        if found:
            stmt = stmt.where(Chat.platform > found[-1])
        platform = (await conn.execute(stmt)).scalar_one()
        if platform is None:
            return found
        found.append(platform)
