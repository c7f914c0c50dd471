"""SQLAlchemy table definitions, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Explicit constraint names so Alembic (and SQLite batch mode) can find them later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Reject naive datetimes and store UTC (naive on SQLite, which has no time zones)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes aware datetimes")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text, so every stored value must be UTC in one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes whatever the backend handed back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only autoincrements an INTEGER PRIMARY KEY, so BIGINT is PostgreSQL-only.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
    }


class Chat(Base):
    """A private chat, group or channel on one platform."""

    __tablename__ = "chats"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id"),
        # Planning reads the few chats with their own offsets or quiet hours: partial indexes
        # keep that proportional to them, not to a million subscribers.
        Index(
            "ix_chats_offsets_set",
            "offsets",
            postgresql_where=text("offsets IS NOT NULL"),
            sqlite_where=text("offsets IS NOT NULL"),
        ),
        Index(
            "ix_chats_quiet_set",
            "quiet_start",
            postgresql_where=text("quiet_start IS NOT NULL"),
            sqlite_where=text("quiet_start IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    tz_label: Mapped[str | None] = mapped_column(String(128))
    # ",1440,60,0," (commas at both ends so LIKE '%,60,%' tests membership); "," = off;
    # NULL = the configured default.
    offsets: Mapped[str | None] = mapped_column(String(128))
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Subscription(Base):
    """A chat following one session, or every session when session_id is "*"."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("chat_pk", "session_id"),
        # Audience queries start from the session.
        Index(None, "session_id", "chat_pk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_pk: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Broadcast(Base):
    """An announcement written by an organizer, sent to an audience."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_by: Mapped[str] = mapped_column(String(128))
    origin_platform: Mapped[str] = mapped_column(String(16))
    texts: Mapped[dict[str, Any]]
    audience: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[datetime]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Delivery(Base):
    """One message to one chat: the ledger that makes sending idempotent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("chat_pk", "kind", "ref"),
        Index(None, "platform", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The chat (chats.id), with no foreign key: a reminder to a million chats writes a million
    # rows, and PostgreSQL's check of each (a shared row lock on the chat) was 40% of that
    # write. Rows come only from INSERT … SELECT over chats; the one place that deletes a chat
    # (a group's migration) moves or deletes its rows first, and a row whose chat is gone all
    # the same is settled at its claim ("chat is gone"), never sent.
    chat_pk: Mapped[int] = mapped_column(Integer)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(160))
    session_id: Mapped[str | None] = mapped_column(String(64))
    # The broadcast (broadcasts.id), None for reminders; no foreign key either: its check
    # fires for every row, even a reminder's NULL (a third of a million-row write), and
    # broadcasts are never deleted.
    broadcast_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AudiencePart(Base):
    """Up to a thousand recipients of one reminder, kept as their chat pks until the fan-out
    reaches them; then they become ledger rows (bot/store/audience_parts.py). A million rows
    written at a reminder's due instant took 9 s on PostgreSQL, a thousand parts 1.5 s."""

    __tablename__ = "audience_parts"
    __table_args__ = (
        # A chunk written again (a resumed fire) adds no second part of the same chats.
        UniqueConstraint("kind", "ref", "platform", "first_pk"),
        # The claim's next part; the first pk in it too, to find a block's without the heap.
        Index(None, "platform", "due_at", "first_pk"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(160))
    session_id: Mapped[str | None] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # The smallest of the chat pks: the part's name, and (divided by PART_SIZE) its block,
    # which the parts of other reminders to the same chats share.
    first_pk: Mapped[int] = mapped_column(Integer)
    chat_pks: Mapped[list[int]] = mapped_column(ARRAY(Integer).with_variant(JSON(), "sqlite"))
    created_at: Mapped[datetime]


class DeliveryCount(Base):
    """Counts of ledger rows pruned after `delivery.keep_days`, per (kind, ref, status), so
    that statistics and reports still add up once the rows themselves are gone."""

    __tablename__ = "delivery_counts"
    __table_args__ = (UniqueConstraint("kind", "ref", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(160))
    # The broadcast the rows belonged to (a report filters on it); None for reminders.
    broadcast_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class Audit(Base):
    """An organizer action (allowed or refused), kept for accountability."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    platform: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    allowed: Mapped[bool] = mapped_column(Boolean)


class PlatformRef(Base):
    """An id a platform gave us (e.g. a Discord scheduled event per guild and session)."""

    __tablename__ = "platform_refs"
    __table_args__ = (UniqueConstraint("platform", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(160))
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime]


class ScheduleVersion(Base):
    """A schedule the worker put in force: the YAML as parsed, numbered per event.

    The latest one is what subscribers were last told; a start compares it with the file so
    that edits made while the worker was down are announced too.
    """

    __tablename__ = "schedule_versions"
    __table_args__ = (UniqueConstraint("event_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime]


class DashboardToken(Base):
    """A dashboard secret as its SHA-256: a one-time sign-in link, or a signed-in session.

    Only the hash is kept, so a copy of the database opens no dashboard.
    """

    __tablename__ = "dashboard_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # "signin" or "session"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    lang: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CalendarToken(Base):
    """The secret in a chat's personal calendar feed URL (`/calendar/<token>.ics`).

    One per chat; `/calendar reset` replaces it, which voids the old URL. Kept as issued
    (not hashed): `/calendar` shows the same link every time it is asked, and a feed's URL
    must stay the same for the calendar apps that follow it.
    """

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_pk: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
