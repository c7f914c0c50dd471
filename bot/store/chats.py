"""Chats, their subscriptions and their preferences (language, zone, offsets, quiet hours)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from bot.constants import ALL_SESSIONS, ChatKind, ChatStatus
from bot.store import audience_parts
from bot.store.db import Database
from bot.store.records import (
    ChatRecord,
    QuietProfile,
    SubscriberStats,
    decode_offsets,
    encode_offsets,
    member,
)
from bot.store.tables import Chat, Delivery, Subscription

_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


class _Unset(enum.Enum):
    """Marker type for "argument not given", so None can be stored explicitly."""

    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET

CHAT_COLUMNS = (
    Chat.id,
    Chat.platform,
    Chat.chat_id,
    Chat.user_id,
    Chat.kind,
    Chat.language,
    Chat.timezone,
    Chat.tz_label,
    Chat.offsets,
    Chat.quiet_start,
    Chat.quiet_end,
    Chat.status,
)


def chat_record(row: sa.Row[*tuple[Any, ...]]) -> ChatRecord:
    """The record of a row selected with CHAT_COLUMNS."""
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end)
    return ChatRecord(
        pk=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        user_id=row.user_id,
        kind=ChatKind(row.kind),
        language=row.language,
        timezone=row.timezone,
        tz_label=row.tz_label,
        offsets=decode_offsets(row.offsets),
        quiet=quiet,
        status=ChatStatus(row.status),
    )


def subscribed_to(
    session_id: str, groups: Sequence[str] = (), pk_range: tuple[int, int] | None = None
) -> sa.ColumnElement[bool]:
    """Chat.id is subscribed to session_id, to every session or to one of `groups` (the
    markers of the session's track and room, "track:security"): a semi-join, one row per chat.

    `pk_range` (low included, high excluded) bounds the subscriptions looked at too, so that
    one chunk of a large audience reads its own subscriptions, not the whole table's.
    """
    subscriptions = sa.select(Subscription.chat_pk).where(
        Subscription.session_id.in_((session_id, ALL_SESSIONS, *groups))
    )
    if pk_range is not None:
        subscriptions = subscriptions.where(
            Subscription.chat_pk >= pk_range[0], Subscription.chat_pk < pk_range[1]
        )
    return Chat.id.in_(subscriptions)


def _check_quiet(quiet: tuple[str, str] | None) -> None:
    if quiet is None:
        return
    start, end = quiet
    if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)):
        raise ValueError(f"quiet hours must be ('HH:MM', 'HH:MM'), got {quiet!r}")


def _profile_order(profile: QuietProfile) -> tuple[str, str, str, tuple[int, ...]]:
    return (profile[0] or "", profile[1], profile[2], profile[3] or ())


class Chats:
    """The chats repository: `store.chats`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def get_or_create(
        self,
        platform: str,
        chat_id: str,
        *,
        now: datetime,
        user_id: str | None = None,
        kind: str = ChatKind.PRIVATE,
        language: str | None = None,
    ) -> tuple[ChatRecord, bool]:
        """Return the chat, creating it if new; the flag is True when it was created."""
        kind = member(ChatKind, kind, "chat kind")
        insert = (
            self._db.insert(Chat)
            .values(
                platform=platform,
                chat_id=str(chat_id),
                user_id=user_id,
                kind=kind,
                language=language,
                status=ChatStatus.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            # Two updates from a new chat can arrive at once: let one insert win.
            .on_conflict_do_nothing(index_elements=["platform", "chat_id"])
            .returning(Chat.id)
        )
        async with self._db.write() as conn:
            created = (await conn.execute(insert)).first() is not None
            row = (
                await conn.execute(
                    sa.select(*CHAT_COLUMNS).where(
                        Chat.platform == platform, Chat.chat_id == str(chat_id)
                    )
                )
            ).one()
        return chat_record(row), created

    async def get(self, platform: str, chat_id: str) -> ChatRecord | None:
        """Return the chat with this platform id, or None."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(*CHAT_COLUMNS).where(
                        Chat.platform == platform, Chat.chat_id == str(chat_id)
                    )
                )
            ).first()
        return None if row is None else chat_record(row)

    async def get_by_pk(self, pk: int) -> ChatRecord | None:
        """Return the chat with this primary key, or None."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(*CHAT_COLUMNS).where(Chat.id == pk))).first()
        return None if row is None else chat_record(row)

    async def update(
        self,
        pk: int,
        *,
        now: datetime,
        language: str | _Unset | None = UNSET,
        timezone: str | _Unset | None = UNSET,
        tz_label: str | _Unset | None = UNSET,
        offsets: Sequence[int] | _Unset | None = UNSET,
        quiet: tuple[str, str] | _Unset | None = UNSET,
        status: str | _Unset = UNSET,
    ) -> ChatRecord | None:
        """Set the given fields (None clears one) and return the chat, None if it is gone."""
        values: dict[str, Any] = {"updated_at": now}
        if not isinstance(language, _Unset):
            values["language"] = language
        if not isinstance(timezone, _Unset):
            values["timezone"] = timezone
        if not isinstance(tz_label, _Unset):
            values["tz_label"] = tz_label
        if not isinstance(offsets, _Unset):
            values["offsets"] = encode_offsets(offsets)
        if not isinstance(quiet, _Unset):
            _check_quiet(quiet)
            values["quiet_start"], values["quiet_end"] = quiet if quiet else (None, None)
        if not isinstance(status, _Unset):
            values["status"] = member(ChatStatus, status, "chat status")
        stmt = sa.update(Chat).where(Chat.id == pk).values(values).returning(*CHAT_COLUMNS)
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else chat_record(row)

    async def migrate(
        self, platform: str, old_chat_id: str, new_chat_id: str, *, now: datetime
    ) -> None:
        """Move a chat to a new platform id (Telegram group → supergroup), keeping its data."""
        # If the new id is already known, the old chat's subscriptions and ledger are
        # merged into it, its unset preferences are filled from the old chat's, and the
        # old chat is deleted.
        select_chat = sa.select(*CHAT_COLUMNS).where(Chat.platform == platform)
        async with self._db.write() as conn:
            old_row = (
                await conn.execute(select_chat.where(Chat.chat_id == str(old_chat_id)))
            ).first()
            if old_row is None:
                return
            old = chat_record(old_row)
            new_row = (
                await conn.execute(select_chat.where(Chat.chat_id == str(new_chat_id)))
            ).first()
            if new_row is None:
                await conn.execute(
                    sa.update(Chat)
                    .where(Chat.id == old.pk)
                    .values(chat_id=str(new_chat_id), updated_at=now)
                )
                return
            new = chat_record(new_row)
            await conn.execute(
                self._db.insert(Subscription)
                .from_select(
                    ["chat_pk", "session_id", "created_at"],
                    sa.select(
                        sa.literal(new.pk, sa.Integer),
                        Subscription.session_id,
                        Subscription.created_at,
                    ).where(Subscription.chat_pk == old.pk),
                )
                .on_conflict_do_nothing(index_elements=["chat_pk", "session_id"])
            )
            # Move ledger rows unless the new chat already has the same message.
            twin = aliased(Delivery, name="twin")
            await conn.execute(
                sa.update(Delivery)
                .where(
                    Delivery.chat_pk == old.pk,
                    ~sa.exists().where(
                        twin.chat_pk == new.pk,
                        twin.kind == Delivery.kind,
                        twin.ref == Delivery.ref,
                    ),
                )
                .values(chat_pk=new.pk, updated_at=now)
            )
            # The new chat was most likely created by a message racing the migration
            # event, with default settings: the old chat's choices are the real ones.
            quiet = new.quiet or old.quiet
            await conn.execute(
                sa.update(Chat)
                .where(Chat.id == new.pk)
                .values(
                    user_id=new.user_id or old.user_id,
                    language=new.language or old.language,
                    timezone=new.timezone or old.timezone,
                    tz_label=new.tz_label or old.tz_label,
                    offsets=encode_offsets(
                        new.offsets if new.offsets is not None else old.offsets
                    ),
                    quiet_start=quiet[0] if quiet else None,
                    quiet_end=quiet[1] if quiet else None,
                    updated_at=now,
                )
            )
            # Its place in audience parts (recipients not yet written as rows) too.
            await audience_parts.move_chat(conn, old.pk, new.pk)
            # Explicit deletes rather than relying on ON DELETE CASCADE being enabled.
            await conn.execute(sa.delete(Subscription).where(Subscription.chat_pk == old.pk))
            await conn.execute(sa.delete(Delivery).where(Delivery.chat_pk == old.pk))
            await conn.execute(sa.delete(Chat).where(Chat.id == old.pk))

    # ---------------------------------------------------------------- subscriptions

    async def subscribe(self, chat_pk: int, session_id: str, *, now: datetime) -> bool:
        """Subscribe the chat to a session ("*" = all); True if it was not subscribed yet."""
        stmt = (
            self._db.insert(Subscription)
            .values(chat_pk=chat_pk, session_id=session_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["chat_pk", "session_id"])
            .returning(Subscription.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def unsubscribe(self, chat_pk: int, session_id: str) -> bool:
        """Remove one subscription ("*" removes only the all-sessions one); True if it existed."""
        stmt = (
            sa.delete(Subscription)
            .where(Subscription.chat_pk == chat_pk, Subscription.session_id == session_id)
            .returning(Subscription.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def unsubscribe_all(self, chat_pk: int) -> int:
        """Remove every subscription of the chat; return how many there were."""
        stmt = (
            sa.delete(Subscription)
            .where(Subscription.chat_pk == chat_pk)
            .returning(Subscription.id)
        )
        async with self._db.write() as conn:
            return len((await conn.execute(stmt)).all())

    async def subscriptions(self, chat_pk: int) -> frozenset[str]:
        """Return the session ids the chat follows ("*" included as such)."""
        async with self._db.read() as conn:
            rows = await conn.execute(
                sa.select(Subscription.session_id).where(Subscription.chat_pk == chat_pk)
            )
            return frozenset(rows.scalars())

    async def count_subscribers(
        self,
        *,
        session_id: str | None = None,
        platform: str | None = None,
        groups: Sequence[str] = (),
    ) -> int:
        """Count active chats following session_id (directly, via "*" or via one of the
        `groups` markers of its track and room), or anything if None."""
        if session_id is None:
            subscribed: sa.ColumnElement[bool] = Chat.id.in_(sa.select(Subscription.chat_pk))
        else:
            subscribed = subscribed_to(session_id, groups)
        stmt = (
            sa.select(sa.func.count())
            .select_from(Chat)
            .where(Chat.status == ChatStatus.ACTIVE, subscribed)
        )
        if platform is not None:
            stmt = stmt.where(Chat.platform == platform)
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def subscriber_stats(self) -> SubscriberStats:
        """Grouped figures over active chats with a subscription (timezones: top 10)."""
        base = (Chat.status == ChatStatus.ACTIVE, Chat.id.in_(sa.select(Subscription.chat_pk)))
        count = sa.func.count().label("n")

        def grouped(column: Any) -> sa.Select[Any]:
            """Count per value of column."""
            return sa.select(column, count).where(*base).group_by(column)

        async with self._db.read() as conn:
            total = (
                await conn.execute(sa.select(sa.func.count()).select_from(Chat).where(*base))
            ).scalar_one()
            by_platform = (await conn.execute(grouped(Chat.platform))).all()
            by_language = (await conn.execute(grouped(Chat.language))).all()
            by_timezone = (
                await conn.execute(
                    grouped(Chat.timezone).order_by(count.desc(), Chat.timezone).limit(10)
                )
            ).all()
            by_session = (
                await conn.execute(
                    sa.select(Subscription.session_id, count)
                    .join(Chat, Chat.id == Subscription.chat_pk)
                    .where(Chat.status == ChatStatus.ACTIVE)
                    .group_by(Subscription.session_id)
                )
            ).all()
        return SubscriberStats(
            total=int(total),
            by_platform={r[0]: int(r[1]) for r in by_platform},
            by_language={r[0]: int(r[1]) for r in by_language},
            by_timezone=[(r[0], int(r[1])) for r in by_timezone],
            by_session={r[0]: int(r[1]) for r in by_session},
        )

    async def audience_breakdown(
        self,
    ) -> tuple[list[tuple[str, str | None, str | None, int]], dict[str, int]]:
        """Active subscribed chats by (platform, language, zone), every combination, and by
        session: two scans, from which any total or grouping is summed (the dashboard)."""
        base = (Chat.status == ChatStatus.ACTIVE, Chat.id.in_(sa.select(Subscription.chat_pk)))
        columns = (Chat.platform, Chat.language, Chat.timezone)
        combos = sa.select(*columns, sa.func.count()).where(*base).group_by(*columns)
        sessions = (
            sa.select(Subscription.session_id, sa.func.count())
            .join(Chat, Chat.id == Subscription.chat_pk)
            .where(Chat.status == ChatStatus.ACTIVE)
            .group_by(Subscription.session_id)
        )
        async with self._db.read() as conn:
            rows = [(p, lang, zone, int(n)) for p, lang, zone, n in await conn.execute(combos)]
            by_session = {sid: int(n) for sid, n in await conn.execute(sessions)}
        return rows, by_session

    # ------------------------------------------------- preferences of the subscribers
    # The scheduler plans its reminder jobs from these (one job per offset, or per quiet
    # profile); they read chats and subscriptions only, never the ledger.

    async def offsets_in_use(self) -> frozenset[tuple[int, ...] | None]:
        """Distinct offsets of active chats with a subscription (None = the default)."""
        # EXISTS rather than IN: SQLite would otherwise walk every subscription first.
        subscribed = [
            Chat.status == ChatStatus.ACTIVE,
            sa.exists().where(Subscription.chat_pk == Chat.id),
        ]
        # The few chats with offsets of their own (a partial index), and whether any uses
        # the default (stops at the first): a DISTINCT over every chat took 0.7 s at 1M.
        own = sa.select(Chat.offsets).distinct().where(Chat.offsets.is_not(None), *subscribed)
        default = sa.select(sa.literal(1)).where(Chat.offsets.is_(None), *subscribed).limit(1)
        async with self._db.read() as conn:
            found = {decode_offsets(text) for text in (await conn.execute(own)).scalars()}
            if (await conn.execute(default)).first() is not None:
                found.add(None)
        return frozenset(found)

    async def quiet_profiles(
        self, session_id: str, groups: Sequence[str] = ()
    ) -> list[QuietProfile]:
        """Distinct (timezone, quiet_start, quiet_end, offsets) of quiet-hours subscribers."""
        stmt = (
            sa.select(Chat.timezone, Chat.quiet_start, Chat.quiet_end, Chat.offsets)
            .distinct()
            .where(
                Chat.status == ChatStatus.ACTIVE,
                Chat.quiet_start.is_not(None),
                Chat.quiet_end.is_not(None),
                subscribed_to(session_id, groups),
            )
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        # quiet_start/quiet_end are NOT NULL here by the WHERE clause.
        profiles = [(r[0], str(r[1]), str(r[2]), decode_offsets(r[3])) for r in rows]
        profiles.sort(key=_profile_order)
        return profiles

    async def quiet_profiles_by_session(self) -> dict[str, list[QuietProfile]]:
        """`quiet_profiles` for every subscribed session id at once ("*" stands for all,
        "track:…" and "room:…" for a track's or a room's talks)."""
        stmt = (
            sa.select(
                Subscription.session_id,
                Chat.timezone,
                Chat.quiet_start,
                Chat.quiet_end,
                Chat.offsets,
            )
            .distinct()
            .join(Chat, Chat.id == Subscription.chat_pk)
            .where(
                Chat.status == ChatStatus.ACTIVE,
                Chat.quiet_start.is_not(None),
                Chat.quiet_end.is_not(None),
            )
        )
        found: dict[str, set[QuietProfile]] = {}
        async with self._db.read() as conn:
            for sid, zone, begin, end, offsets in await conn.execute(stmt):
                profile = (zone, str(begin), str(end), decode_offsets(offsets))
                found.setdefault(sid, set()).add(profile)
        return {sid: sorted(p, key=_profile_order) for sid, p in found.items()}

    async def pk_bounds(self) -> tuple[int, int] | None:
        """The lowest and highest chat pk (None without chats): the span a fan-out chunks."""
        stmt = sa.select(sa.func.min(Chat.id), sa.func.max(Chat.id))
        async with self._db.read() as conn:
            low, high = (await conn.execute(stmt)).one()
        return None if low is None else (int(low), int(high))

    async def with_profile(
        self,
        session_id: str,
        timezone: str | None,
        quiet_start: str,
        quiet_end: str,
        groups: Sequence[str] = (),
    ) -> list[int]:
        """Pks of the session's active subscribers (directly, via "*" or via `groups`) with
        this timezone and these quiet hours."""
        tz_match = Chat.timezone.is_(None) if timezone is None else Chat.timezone == timezone
        stmt = (
            sa.select(Chat.id)
            .where(
                Chat.status == ChatStatus.ACTIVE,
                tz_match,
                Chat.quiet_start == quiet_start,
                Chat.quiet_end == quiet_end,
                subscribed_to(session_id, groups),
            )
            .order_by(Chat.id)
        )
        async with self._db.read() as conn:
            return list((await conn.execute(stmt)).scalars())
