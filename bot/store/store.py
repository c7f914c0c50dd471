"""Async storage: chats, subscriptions, the delivery ledger, broadcasts, audit, platform ids.

Every public method runs in its own short transaction and returns plain frozen
dataclasses, so callers never hold ORM objects or open transactions.  Every time
written is passed in by the caller (an injected clock), never read from the system.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, TypedDict, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import aliased

from bot.store.tables import (
    Audit,
    Broadcast,
    Chat,
    Delivery,
    PlatformRef,
    ScheduleVersion,
    Subscription,
    UtcDateTime,
)
from bot.store.urls import to_async_url

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

ALL_SESSIONS: Final = "*"
CHAT_KINDS: Final = frozenset({"private", "group", "channel"})
CHAT_STATUSES: Final = frozenset({"active", "blocked", "left"})
DELIVERY_KINDS: Final = frozenset({"reminder", "broadcast", "notice"})
DELIVERY_STATUSES: Final = frozenset(
    {"pending", "sending", "sent", "blocked", "failed", "expired"}
)
BROADCAST_STATUSES: Final = frozenset({"draft", "scheduled", "sending", "done", "cancelled"})

# SQLite waits this long for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Execution option telling the SQLite "begin" hook to take the write lock up front.
_WRITE_OPTION: Final = "summit_bot_write"
# Any constant works; it only has to be the same in every process of this application.
_PG_MIGRATION_LOCK: Final = 0x53554D4D4954  # "SUMMIT"
# Rows (or ids) per statement: stays below SQLite's and asyncpg's 32766 bind-parameter caps.
_CHUNK: Final = 1000
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_MAX_OFFSETS_LEN: Final = 128

T = TypeVar("T")

# The connection of the transaction a task is in (see Store.transaction).
_CURRENT: ContextVar[AsyncConnection | None] = ContextVar("summit_store_tx", default=None)


class _Unset(enum.Enum):
    """Marker type for "argument not given", so None can be stored explicitly."""

    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """A chat as stored: offsets None = configured default, () = reminders off."""

    pk: int
    platform: str
    chat_id: str
    user_id: str | None
    kind: str
    language: str | None
    timezone: str | None
    tz_label: str | None
    offsets: tuple[int, ...] | None
    quiet: tuple[str, str] | None
    status: str


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """An explicit ledger row to enqueue (the platform is taken from the chat)."""

    chat_pk: int
    kind: str
    ref: str
    due_at: datetime
    session_id: str | None = None
    broadcast_id: int | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A ledger row claimed for sending, with its chat."""

    id: int
    kind: str
    ref: str
    session_id: str | None
    broadcast_id: int | None
    attempts: int
    due_at: datetime
    chat: ChatRecord


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry."""

    id: int
    at: datetime
    platform: str
    actor: str
    action: str
    detail: dict[str, Any]
    allowed: bool


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    """A broadcast as stored."""

    id: int
    created_by: str
    origin_platform: str
    texts: dict[str, str]
    audience: dict[str, Any]
    status: str
    send_at: datetime
    created_at: datetime
    finished_at: datetime | None


class SubscriberStats(TypedDict):
    """Subscriber figures: active chats with at least one subscription (None = not chosen)."""

    total: int
    by_platform: dict[str, int]
    by_language: dict[str | None, int]
    by_timezone: list[tuple[str | None, int]]
    by_session: dict[str, int]


# --------------------------------------------------------------------------- helpers


def encode_offsets(offsets: Iterable[int] | None) -> str | None:
    """Encode reminder offsets (minutes) as ",1440,60,0," (largest first); [] → ","."""
    if offsets is None:
        return None
    values = sorted({int(m) for m in offsets}, reverse=True)
    if any(m < 0 for m in values):
        raise ValueError(f"reminder offsets must be >= 0 minutes, got {values}")
    text = "," + "".join(f"{m}," for m in values)
    if len(text) > _MAX_OFFSETS_LEN:
        raise ValueError(f"too many reminder offsets ({len(values)})")
    return text


def decode_offsets(text: str | None) -> tuple[int, ...] | None:
    """Decode the stored offsets column (None stays None = the configured default)."""
    if text is None:
        return None
    return tuple(int(part) for part in text.split(",") if part)


def _check(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(allowed)}")


def _check_quiet(quiet: tuple[str, str] | None) -> None:
    if quiet is None:
        return
    start, end = quiet
    if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end)):
        raise ValueError(f"quiet hours must be ('HH:MM', 'HH:MM'), got {quiet!r}")


def _chunks(items: Sequence[T], size: int = _CHUNK) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_CHAT_COLUMNS = (
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


def _chat(row: sa.Row[*tuple[Any, ...]]) -> ChatRecord:
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end)
    return ChatRecord(
        pk=row.id,
        platform=row.platform,
        chat_id=row.chat_id,
        user_id=row.user_id,
        kind=row.kind,
        language=row.language,
        timezone=row.timezone,
        tz_label=row.tz_label,
        offsets=decode_offsets(row.offsets),
        quiet=quiet,
        status=row.status,
    )


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
        created_by=row.created_by,
        origin_platform=row.origin_platform,
        texts=dict(row.texts),
        audience=dict(row.audience),
        status=row.status,
        send_at=row.send_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _subscribed_to(session_id: str) -> sa.ColumnElement[bool]:
    """Chat.id is subscribed to session_id or to every session (a semi-join: one row per chat)."""
    return Chat.id.in_(
        sa.select(Subscription.chat_pk).where(
            Subscription.session_id.in_((session_id, ALL_SESSIONS))
        )
    )


# ---------------------------------------------------------------- ledger statements
# The delivery engine runs these for every message: built once (with bound parameters)
# rather than per call, which saves most of their Python cost (SQLAlchemy's compiled
# cache is keyed on the statement's structure, which would otherwise be rebuilt each time).

_NOW = sa.bindparam("now", type_=UtcDateTime())
_LEDGER_CHATS = sa.select(*_CHAT_COLUMNS).where(Chat.id.in_(sa.bindparam("pks", expanding=True)))
_MARK_SENT = (
    sa.update(Delivery)
    .where(Delivery.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status="sent", sent_at=_NOW, last_error=None, updated_at=_NOW)
)
_MARK_BLOCKED = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(status="blocked", last_error=sa.bindparam("error"), updated_at=_NOW)
    .returning(Delivery.chat_pk)
)
_BLOCK_CHAT = (
    sa.update(Chat)
    .where(Chat.id == sa.bindparam("pk"), Chat.status == "active")
    .values(status="blocked", updated_at=_NOW)
)
_SET_FINAL = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(status=sa.bindparam("b_status"), last_error=sa.bindparam("error"), updated_at=_NOW)
)
_RETRY_LATER = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(
        status="pending",
        not_before=sa.bindparam("b_not_before", type_=UtcDateTime()),
        last_error=sa.bindparam("error"),
        updated_at=_NOW,
    )
)


@dataclass(frozen=True)
class _LedgerStatements:
    """The statements of one dialect that depend on it."""

    claim: sa.Update

    @classmethod
    def build(cls, dialect: Literal["sqlite", "postgresql"]) -> _LedgerStatements:
        """Build them for `dialect`."""
        candidates = (
            sa.select(Delivery.id)
            .where(
                Delivery.platform == sa.bindparam("b_platform"),
                Delivery.status == "pending",
                Delivery.due_at <= _NOW,
                sa.or_(Delivery.not_before.is_(None), Delivery.not_before <= _NOW),
            )
            # due_at alone so the (platform, status, due_at) index yields rows in order
            # and the scan stops after limit rows.
            .order_by(Delivery.due_at)
            .limit(sa.bindparam("limit"))
        )
        if dialect == "postgresql":
            # Rows another claimer has locked are skipped, not waited for.
            candidates = candidates.with_for_update(skip_locked=True)
        # A MATERIALIZED CTE runs exactly once.  As a plain IN (subquery) PostgreSQL may
        # rescan the LIMIT … SKIP LOCKED subquery once per outer row, which is slow and,
        # under concurrency, yields a different set each time (rows were left behind).
        claimable = candidates.cte("claimable").prefix_with("MATERIALIZED", dialect="postgresql")
        claim = (
            sa.update(Delivery)
            # status re-checked: on PostgreSQL a row may have changed since the snapshot.
            .where(Delivery.id.in_(sa.select(claimable.c.id)), Delivery.status == "pending")
            .values(
                status="sending",
                claimed_at=_NOW,
                attempts=Delivery.attempts + 1,
                updated_at=_NOW,
            )
            .returning(
                Delivery.id,
                Delivery.chat_pk,
                Delivery.kind,
                Delivery.ref,
                Delivery.session_id,
                Delivery.broadcast_id,
                Delivery.attempts,
                Delivery.due_at,
            )
        )
        return cls(claim)


# ------------------------------------------------------------------- engine & migrations


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
        write = bool(conn.get_execution_options().get(_WRITE_OPTION, False))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """Build the Alembic config for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats '%' (e.g. in an encoded password) specially.
        config.set_main_option("sqlalchemy.url", to_async_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # Straight on the DBAPI connection: through SQLAlchemy it would open a transaction,
    # and SQLite ignores "PRAGMA foreign_keys" inside one.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def _run_alembic(
    connection: Connection, action: Literal["upgrade", "downgrade"], rev: str
) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations rebuild a table by copying it and dropping the original; with
        # foreign keys on, that DROP would cascade-delete every subscription and ledger row.
        _sqlite_pragma(connection, "foreign_keys=OFF")
    try:
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Two processes starting at once must not both try to create the tables.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            config = alembic_config(connection=connection)
            if action == "upgrade":
                command.upgrade(config, rev)
            else:
                command.downgrade(config, rev)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_pragma(connection, "foreign_keys=ON")


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Run Alembic upgrade to revision on engine, in one transaction."""
    async with engine.execution_options(**{_WRITE_OPTION: True}).connect() as conn:
        await conn.run_sync(_run_alembic, "upgrade", revision)


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at url to revision (Store.open does this to head)."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at url to revision ("base" drops every table and all data)."""
    engine = make_engine(url)
    try:
        async with engine.execution_options(**{_WRITE_OPTION: True}).connect() as conn:
            await conn.run_sync(_run_alembic, "downgrade", revision)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """Return the database's Alembic revision, None for an empty database."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current_sync)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------- store


class Store:
    """The bot's database: open with ``await Store.open(url)``, close with ``await close()``."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine made by make_engine; prefer Store.open, which also migrates."""
        self._engine = engine
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect {name!r}")
        self._dialect: Literal["sqlite", "postgresql"] = (
            "sqlite" if name == "sqlite" else "postgresql"
        )
        self._ledger = _LedgerStatements.build(self._dialect)

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
        await self._engine.dispose()

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
        return self._dialect

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (for tests and maintenance scripts)."""
        return self._engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run every store call inside the block in one transaction (one commit).

        Used where many small writes belong together, e.g. a thousand reminders due at once:
        one commit instead of thousands keeps the first send close to its due instant.
        """
        if _CURRENT.get() is not None:  # already inside one: join it
            yield
            return
        async with self._writer.begin() as conn:
            token = _CURRENT.set(conn)
            try:
                yield
            finally:
                _CURRENT.reset(token)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        current = _CURRENT.get()
        if current is not None:
            yield current
            return
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        current = _CURRENT.get()
        if current is not None:
            yield current
            return
        async with self._engine.connect() as conn:
            yield conn

    def _insert(self, table: Any) -> sqlite.Insert | postgresql.Insert:
        # Dialect-specific insert: the generic one has no ON CONFLICT.
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # ------------------------------------------------------------------------ chats

    async def get_or_create_chat(
        self,
        platform: str,
        chat_id: str,
        *,
        now: datetime,
        user_id: str | None = None,
        kind: str = "private",
        language: str | None = None,
    ) -> tuple[ChatRecord, bool]:
        """Return the chat, creating it if new; the flag is True when it was created."""
        _check(kind, CHAT_KINDS, "chat kind")
        insert = (
            self._insert(Chat)
            .values(
                platform=platform,
                chat_id=str(chat_id),
                user_id=user_id,
                kind=kind,
                language=language,
                status="active",
                created_at=now,
                updated_at=now,
            )
            # Two updates from a new chat can arrive at once: let one insert win.
            .on_conflict_do_nothing(index_elements=["platform", "chat_id"])
            .returning(Chat.id)
        )
        async with self._write() as conn:
            created = (await conn.execute(insert)).first() is not None
            row = (
                await conn.execute(
                    sa.select(*_CHAT_COLUMNS).where(
                        Chat.platform == platform, Chat.chat_id == str(chat_id)
                    )
                )
            ).one()
        return _chat(row), created

    async def get_chat(self, platform: str, chat_id: str) -> ChatRecord | None:
        """Return the chat with this platform id, or None."""
        async with self._read() as conn:
            row = (
                await conn.execute(
                    sa.select(*_CHAT_COLUMNS).where(
                        Chat.platform == platform, Chat.chat_id == str(chat_id)
                    )
                )
            ).first()
        return None if row is None else _chat(row)

    async def get_chat_by_pk(self, pk: int) -> ChatRecord | None:
        """Return the chat with this primary key, or None."""
        async with self._read() as conn:
            row = (await conn.execute(sa.select(*_CHAT_COLUMNS).where(Chat.id == pk))).first()
        return None if row is None else _chat(row)

    async def update_chat(
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
            _check(status, CHAT_STATUSES, "chat status")
            values["status"] = status
        stmt = sa.update(Chat).where(Chat.id == pk).values(values).returning(*_CHAT_COLUMNS)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _chat(row)

    async def migrate_chat(
        self, platform: str, old_chat_id: str, new_chat_id: str, *, now: datetime
    ) -> None:
        """Move a chat to a new platform id (Telegram group → supergroup), keeping its data."""
        # If the new id is already known, the old chat's subscriptions and ledger are
        # merged into it, its unset preferences are filled from the old chat's, and the
        # old chat is deleted.
        select_chat = sa.select(*_CHAT_COLUMNS).where(Chat.platform == platform)
        async with self._write() as conn:
            old_row = (
                await conn.execute(select_chat.where(Chat.chat_id == str(old_chat_id)))
            ).first()
            if old_row is None:
                return
            old = _chat(old_row)
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
            new = _chat(new_row)
            await conn.execute(
                self._insert(Subscription)
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
            # Explicit deletes rather than relying on ON DELETE CASCADE being enabled.
            await conn.execute(sa.delete(Subscription).where(Subscription.chat_pk == old.pk))
            await conn.execute(sa.delete(Delivery).where(Delivery.chat_pk == old.pk))
            await conn.execute(sa.delete(Chat).where(Chat.id == old.pk))

    # ---------------------------------------------------------------- subscriptions

    async def subscribe(self, chat_pk: int, session_id: str, *, now: datetime) -> bool:
        """Subscribe the chat to a session ("*" = all); True if it was not subscribed yet."""
        stmt = (
            self._insert(Subscription)
            .values(chat_pk=chat_pk, session_id=session_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["chat_pk", "session_id"])
            .returning(Subscription.id)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def unsubscribe(self, chat_pk: int, session_id: str) -> bool:
        """Remove one subscription ("*" removes only the all-sessions one); True if it existed."""
        stmt = (
            sa.delete(Subscription)
            .where(Subscription.chat_pk == chat_pk, Subscription.session_id == session_id)
            .returning(Subscription.id)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def unsubscribe_all(self, chat_pk: int) -> int:
        """Remove every subscription of the chat; return how many there were."""
        stmt = (
            sa.delete(Subscription)
            .where(Subscription.chat_pk == chat_pk)
            .returning(Subscription.id)
        )
        async with self._write() as conn:
            return len((await conn.execute(stmt)).all())

    async def subscriptions(self, chat_pk: int) -> frozenset[str]:
        """Return the session ids the chat follows ("*" included as such)."""
        async with self._read() as conn:
            rows = await conn.execute(
                sa.select(Subscription.session_id).where(Subscription.chat_pk == chat_pk)
            )
            return frozenset(rows.scalars())

    async def count_subscribers(
        self, *, session_id: str | None = None, platform: str | None = None
    ) -> int:
        """Count active chats following session_id (directly or via "*"), or anything if None."""
        if session_id is None:
            subscribed: sa.ColumnElement[bool] = Chat.id.in_(sa.select(Subscription.chat_pk))
        else:
            subscribed = _subscribed_to(session_id)
        stmt = (
            sa.select(sa.func.count()).select_from(Chat).where(Chat.status == "active", subscribed)
        )
        if platform is not None:
            stmt = stmt.where(Chat.platform == platform)
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def subscriber_stats(self) -> SubscriberStats:
        """Grouped figures over active chats with a subscription (timezones: top 10)."""
        base = (Chat.status == "active", Chat.id.in_(sa.select(Subscription.chat_pk)))
        count = sa.func.count().label("n")

        def grouped(column: Any) -> sa.Select[Any]:
            """Count per value of column."""
            return sa.select(column, count).where(*base).group_by(column)

        async with self._read() as conn:
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
                    .where(Chat.status == "active")
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

    # ----------------------------------------------------------------------- ledger

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
    ) -> int:
        """Add one pending row per active subscriber of the session; return rows inserted."""
        # offset_minutes (if not None) keeps chats whose effective offsets contain it;
        # only_without_quiet keeps chats without quiet hours; chat_pks restricts to those
        # chats.  Rows already in the ledger (same chat, kind, ref) are left alone, which
        # makes a repeated or concurrent enqueue harmless.
        _check(kind, DELIVERY_KINDS, "delivery kind")
        if len(ref) > 160:
            raise ValueError(f"ref too long ({len(ref)} > 160): {ref[:40]!r}...")
        conditions: list[sa.ColumnElement[bool]] = [
            Chat.status == "active",
            _subscribed_to(session_id),
        ]
        if offset_minutes is not None:
            contains = Chat.offsets.like(f"%,{int(offset_minutes)},%")
            if offset_minutes in default_offsets:
                conditions.append(sa.or_(Chat.offsets.is_(None), contains))
            else:
                conditions.append(contains)
        if only_without_quiet:
            conditions.append(Chat.quiet_start.is_(None))
        pks = [None] if chat_pks is None else _chunks(chat_pks)
        inserted = 0
        async with self._write() as conn:
            for chunk in pks:
                where = conditions if chunk is None else [*conditions, Chat.id.in_(chunk)]
                inserted += await self._insert_for_chats(
                    conn,
                    where,
                    kind=kind,
                    ref=ref,
                    due_at=due_at,
                    now=now,
                    session_id=session_id,
                )
        return inserted

    async def _insert_for_chats(
        self,
        conn: AsyncConnection,
        where: Sequence[sa.ColumnElement[bool]],
        *,
        kind: str,
        ref: str,
        due_at: datetime,
        now: datetime,
        session_id: str | None = None,
        broadcast_id: int | None = None,
    ) -> int:
        """One pending row per chat matching `where`, in a single INSERT … SELECT (the database
        does the fan-out, not Python); rows already in the ledger are left alone."""
        source = sa.select(
            Chat.id,
            Chat.platform,
            sa.literal(kind, sa.String),
            sa.literal(ref, sa.String),
            sa.literal(session_id, sa.String),
            sa.literal(broadcast_id, sa.Integer),
            sa.literal("pending", sa.String),
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
        stmt = (
            self._insert(Delivery)
            .from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["chat_pk", "kind", "ref"])
        )
        return int((await conn.execute(stmt)).rowcount)

    async def offsets_in_use(self) -> frozenset[tuple[int, ...] | None]:
        """Distinct offsets of active chats with a subscription (None = the default)."""
        stmt = (
            sa.select(Chat.offsets)
            .distinct()
            .where(Chat.status == "active", Chat.id.in_(sa.select(Subscription.chat_pk)))
        )
        async with self._read() as conn:
            return frozenset(decode_offsets(text) for text in (await conn.execute(stmt)).scalars())

    async def quiet_profiles(
        self, session_id: str
    ) -> list[tuple[str | None, str, str, tuple[int, ...] | None]]:
        """Distinct (timezone, quiet_start, quiet_end, offsets) of quiet-hours subscribers."""
        stmt = (
            sa.select(Chat.timezone, Chat.quiet_start, Chat.quiet_end, Chat.offsets)
            .distinct()
            .where(
                Chat.status == "active",
                Chat.quiet_start.is_not(None),
                Chat.quiet_end.is_not(None),
                _subscribed_to(session_id),
            )
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        # quiet_start/quiet_end are NOT NULL here by the WHERE clause.
        profiles = [(r[0], str(r[1]), str(r[2]), decode_offsets(r[3])) for r in rows]
        profiles.sort(key=lambda p: (p[0] or "", p[1], p[2], p[3] or ()))
        return profiles

    async def quiet_profiles_by_session(
        self,
    ) -> dict[str, list[tuple[str | None, str, str, tuple[int, ...] | None]]]:
        """`quiet_profiles` for every subscribed session id at once ("*" stands for all)."""
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
                Chat.status == "active", Chat.quiet_start.is_not(None), Chat.quiet_end.is_not(None)
            )
        )
        found: dict[str, set[tuple[str | None, str, str, tuple[int, ...] | None]]] = {}
        async with self._read() as conn:
            for sid, zone, begin, end, offsets in await conn.execute(stmt):
                profile = (zone, str(begin), str(end), decode_offsets(offsets))
                found.setdefault(sid, set()).add(profile)
        return {
            sid: sorted(p, key=lambda q: (q[0] or "", q[1], q[2], q[3] or ()))
            for sid, p in found.items()
        }

    async def chats_with_profile(
        self, session_id: str, timezone: str | None, quiet_start: str, quiet_end: str
    ) -> list[int]:
        """Pks of the session's active subscribers with this timezone and these quiet hours."""
        tz_match = Chat.timezone.is_(None) if timezone is None else Chat.timezone == timezone
        stmt = (
            sa.select(Chat.id)
            .where(
                Chat.status == "active",
                tz_match,
                Chat.quiet_start == quiet_start,
                Chat.quiet_end == quiet_end,
                _subscribed_to(session_id),
            )
            .order_by(Chat.id)
        )
        async with self._read() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def expire_superseded(self, session_id: str, *, now: datetime) -> int:
        """Expire pending reminders of the session superseded by a later due one; return count."""
        # When several reminders of one session are overdue at once, only the latest goes
        # out: a pending reminder is superseded once the same chat has a reminder of the
        # same session that is due later but already due now (whatever its status).
        newer = aliased(Delivery, name="newer")
        stmt = (
            sa.update(Delivery)
            .where(
                Delivery.kind == "reminder",
                Delivery.session_id == session_id,
                Delivery.status == "pending",
                Delivery.due_at < now,
                sa.exists().where(
                    newer.chat_pk == Delivery.chat_pk,
                    newer.kind == "reminder",
                    newer.session_id == session_id,
                    newer.due_at > Delivery.due_at,
                    newer.due_at <= now,
                ),
            )
            .values(status="expired", last_error="superseded by a later reminder", updated_at=now)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).rowcount

    async def enqueue_chats(self, rows: Sequence[NewDelivery], *, now: datetime) -> int:
        """Insert explicit ledger rows, skipping existing ones and unknown chats; return count."""
        for row in rows:
            _check(row.kind, DELIVERY_KINDS, "delivery kind")
        if not rows:
            return 0
        inserted = 0
        async with self._write() as conn:
            platforms: dict[int, str] = {}
            for chunk in _chunks(sorted({r.chat_pk for r in rows})):
                result = await conn.execute(
                    sa.select(Chat.id, Chat.platform).where(Chat.id.in_(chunk))
                )
                platforms.update((pk, platform) for pk, platform in result)
            values = [
                {
                    "chat_pk": r.chat_pk,
                    "platform": platforms[r.chat_pk],
                    "kind": r.kind,
                    "ref": r.ref,
                    "session_id": r.session_id,
                    "broadcast_id": r.broadcast_id,
                    "status": "pending",
                    "attempts": 0,
                    "due_at": r.due_at,
                    "created_at": now,
                    "updated_at": now,
                }
                for r in rows
                if r.chat_pk in platforms
            ]
            for chunk_values in _chunks(values, _CHUNK // 2):
                stmt = (
                    self._insert(Delivery)
                    .values(list(chunk_values))
                    .on_conflict_do_nothing(index_elements=["chat_pk", "kind", "ref"])
                    .returning(Delivery.id)
                )
                inserted += len((await conn.execute(stmt)).all())
        return inserted

    async def claim(self, platform: str, *, limit: int, now: datetime) -> list[Claimed]:
        """Move up to limit due pending rows of the platform to "sending" and return them."""
        # Rows whose chat is no longer active are marked "blocked" in the same transaction
        # and not returned.  Concurrent claimers never receive the same row.
        out: list[Claimed] = []
        async with self._write() as conn:
            # Claim first and look at the chats after: the cost stays proportional to
            # limit, whereas filtering on chat status up front means scanning every due
            # row.  Rows of inactive chats are settled and the batch topped up.
            while len(out) < limit:
                batch = (
                    await conn.execute(
                        self._ledger.claim,
                        {"b_platform": platform, "now": now, "limit": limit - len(out)},
                    )
                ).all()
                if not batch:
                    break
                chats: dict[int, ChatRecord] = {}
                for chunk in _chunks(sorted({r.chat_pk for r in batch})):
                    result = await conn.execute(_LEDGER_CHATS, {"pks": list(chunk)})
                    chats.update((row.id, _chat(row)) for row in result)
                inactive: dict[str, list[int]] = {}
                for r in batch:
                    chat = chats[r.chat_pk]
                    if chat.status != "active":
                        inactive.setdefault(chat.status, []).append(r.id)
                        continue
                    out.append(
                        Claimed(
                            id=r.id,
                            kind=r.kind,
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
                            status="blocked",
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

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> int:
        """Mark rows as sent; return how many were updated (one transaction for all)."""
        updated = 0
        async with self._write() as conn:
            for chunk in _chunks(list(ids)):
                result = await conn.execute(_MARK_SENT, {"ids": list(chunk), "now": now})
                updated += result.rowcount
        return updated

    async def mark_blocked(self, delivery_id: int, error: str, now: datetime) -> None:
        """Mark the row blocked and the chat blocked (its other rows are settled by claim)."""
        async with self._write() as conn:
            chat_pk = (
                await conn.execute(
                    _MARK_BLOCKED, {"b_id": delivery_id, "error": error, "now": now}
                )
            ).scalar_one_or_none()
            if chat_pk is not None:
                # A chat that "left" stays "left": that is the more precise state.
                await conn.execute(_BLOCK_CHAT, {"pk": chat_pk, "now": now})

    async def _set_final(self, delivery_id: int, status: str, error: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(
                _SET_FINAL, {"b_id": delivery_id, "b_status": status, "error": error, "now": now}
            )

    async def mark_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        """Mark the row failed for good."""
        await self._set_final(delivery_id, "failed", error, now)

    async def mark_expired(self, delivery_id: int, reason: str, now: datetime) -> None:
        """Mark the row expired (too late to be worth sending)."""
        await self._set_final(delivery_id, "expired", reason, now)

    async def retry_later(
        self, delivery_id: int, not_before: datetime, error: str, now: datetime
    ) -> None:
        """Put the row back to pending, not to be claimed before not_before."""
        async with self._write() as conn:
            await conn.execute(
                _RETRY_LATER,
                {"b_id": delivery_id, "b_not_before": not_before, "error": error, "now": now},
            )

    async def requeue_inflight(self, *, now: datetime, platform: str | None = None) -> int:
        """Put rows left "sending" by a crash back to pending (one platform's, or all)."""
        stmt = (
            sa.update(Delivery)
            .where(Delivery.status == "sending")
            .values(status="pending", updated_at=now)
        )
        if platform is not None:
            stmt = stmt.where(Delivery.platform == platform)
        async with self._write() as conn:
            return (await conn.execute(stmt)).rowcount

    async def delivery_counts(
        self,
        *,
        kind: str | None = None,
        ref_prefix: str | None = None,
        broadcast_id: int | None = None,
    ) -> dict[str, int]:
        """Count ledger rows by status, optionally filtered (statuses with no rows absent)."""
        stmt = sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        if kind is not None:
            stmt = stmt.where(Delivery.kind == kind)
        if ref_prefix is not None:
            # autoescape: a '_' or '%' in a session id is literal, not a wildcard.
            stmt = stmt.where(Delivery.ref.startswith(ref_prefix, autoescape=True))
        if broadcast_id is not None:
            stmt = stmt.where(Delivery.broadcast_id == broadcast_id)
        async with self._read() as conn:
            return {status: int(n) for status, n in await conn.execute(stmt)}

    async def last_reminder_ref(self, now: datetime) -> str | None:
        """The ref of the latest reminder due by `now` (for organizers' statistics)."""
        stmt = (
            sa.select(Delivery.ref)
            .where(Delivery.kind == "reminder", Delivery.due_at <= now)
            .order_by(Delivery.due_at.desc(), Delivery.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def pending_count(self, platform: str | None = None) -> int:
        """Count pending rows (of one platform, or all)."""
        stmt = sa.select(sa.func.count()).select_from(Delivery).where(Delivery.status == "pending")
        if platform is not None:
            stmt = stmt.where(Delivery.platform == platform)
        async with self._read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

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
            Delivery.platform == platform, Delivery.status == "pending"
        )
        async with self._read() as conn:
            value: datetime | None = (await conn.execute(stmt)).scalar_one()
        return value

    # ------------------------------------------------------------------- broadcasts

    async def create_broadcast(
        self,
        *,
        created_by: str,
        origin_platform: str,
        texts: dict[str, str],
        audience: dict[str, Any],
        send_at: datetime,
        now: datetime,
        status: str = "scheduled",
    ) -> BroadcastRecord:
        """Store a new broadcast and return it."""
        _check(status, BROADCAST_STATUSES, "broadcast status")
        stmt = (
            sa.insert(Broadcast)
            .values(
                created_by=created_by,
                origin_platform=origin_platform,
                texts=texts,
                audience=audience,
                status=status,
                send_at=send_at,
                created_at=now,
            )
            .returning(*_BROADCAST_COLUMNS)
        )
        async with self._write() as conn:
            return _broadcast((await conn.execute(stmt)).one())

    async def get_broadcast(self, broadcast_id: int) -> BroadcastRecord | None:
        """Return the broadcast, or None."""
        stmt = sa.select(*_BROADCAST_COLUMNS).where(Broadcast.id == broadcast_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _broadcast(row)

    async def broadcasts(
        self, *, status: str | None = None, limit: int = 50
    ) -> list[BroadcastRecord]:
        """Return broadcasts, newest first, optionally of one status."""
        stmt = sa.select(*_BROADCAST_COLUMNS).order_by(Broadcast.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(Broadcast.status == status)
        async with self._read() as conn:
            return [_broadcast(row) for row in await conn.execute(stmt)]

    async def set_broadcast_status(
        self, broadcast_id: int, status: str, *, now: datetime
    ) -> BroadcastRecord | None:
        """Change a broadcast's status ("done"/"cancelled" also set finished_at)."""
        _check(status, BROADCAST_STATUSES, "broadcast status")
        values: dict[str, Any] = {"status": status}
        if status in ("done", "cancelled"):
            values["finished_at"] = now
        stmt = (
            sa.update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(values)
            .returning(*_BROADCAST_COLUMNS)
        )
        async with self._write() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _broadcast(row)

    @staticmethod
    def _audience(audience: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
        """Who a broadcast reaches: {"kind": "all" | "session" | "language" | "channels"}.

        "session" needs "session"; "language" needs "language" and "default" (the language
        a chat that never chose one reads); "platforms" (a list) narrows any of them.
        """
        subscribed = Chat.id.in_(sa.select(Subscription.chat_pk))
        conditions: list[sa.ColumnElement[bool]] = [Chat.status == "active"]
        kind = audience.get("kind", "all")
        if kind == "all":
            conditions.append(subscribed)
        elif kind == "session":
            conditions.append(_subscribed_to(str(audience["session"])))
        elif kind == "language":
            lang = str(audience["language"])
            chosen = Chat.language == lang
            if lang == audience.get("default"):
                chosen = sa.or_(chosen, Chat.language.is_(None))
            conditions += [subscribed, chosen]
        elif kind == "channels":
            conditions.append(Chat.language == "*")  # announcement channels read every language
        else:
            raise ValueError(f"unknown audience kind {kind!r}")
        platforms = audience.get("platforms")
        if platforms:
            conditions.append(Chat.platform.in_(list(platforms)))
        return conditions

    async def count_audience(self, audience: Mapping[str, Any]) -> dict[str, int]:
        """How many chats a broadcast to `audience` reaches, by platform."""
        stmt = (
            sa.select(Chat.platform, sa.func.count())
            .where(*self._audience(audience))
            .group_by(Chat.platform)
        )
        async with self._read() as conn:
            return {platform: int(n) for platform, n in await conn.execute(stmt)}

    async def enqueue_broadcast(
        self, broadcast_id: int, audience: Mapping[str, Any], *, due_at: datetime, now: datetime
    ) -> int:
        """One pending ledger row per chat of the audience, in one statement; return the count."""
        async with self._write() as conn:
            return await self._insert_for_chats(
                conn,
                self._audience(audience),
                kind="broadcast",
                ref=str(broadcast_id),
                due_at=due_at,
                now=now,
                broadcast_id=broadcast_id,
            )

    async def cancel_broadcast_rows(self, broadcast_id: int, *, now: datetime) -> int:
        """Expire a broadcast's rows not yet sent; return how many."""
        stmt = (
            sa.update(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "pending")
            .values(status="expired", last_error="broadcast cancelled", updated_at=now)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).rowcount

    # ------------------------------------------------------------------------ audit

    async def audit(
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
        async with self._write() as conn:
            await conn.execute(stmt)

    async def audit_log(self, limit: int = 50) -> list[AuditRecord]:
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
        async with self._read() as conn:
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

    # -------------------------------------------------------------------- platform refs

    async def last_schedule(
        self, event_id: str, *, before: int | None = None
    ) -> tuple[int, str] | None:
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
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (int(row.revision), str(row.text))

    async def save_schedule(
        self, event_id: str, revision: int, text: str, *, source: str, now: datetime
    ) -> None:
        """Record the schedule put in force as `revision` (which must be new for the event)."""
        stmt = sa.insert(ScheduleVersion).values(
            event_id=event_id, revision=revision, source=source[-256:], text=text, applied_at=now
        )
        async with self._write() as conn:
            await conn.execute(stmt)

    async def get_ref(self, platform: str, kind: str, key: str) -> str | None:
        """Return the stored platform id for (platform, kind, key), or None."""
        stmt = sa.select(PlatformRef.value).where(
            PlatformRef.platform == platform, PlatformRef.kind == kind, PlatformRef.key == key
        )
        async with self._read() as conn:
            return (await conn.execute(stmt)).scalar_one_or_none()

    async def set_ref(
        self, platform: str, kind: str, key: str, value: str, *, now: datetime
    ) -> None:
        """Store (or replace) the platform id for (platform, kind, key)."""
        insert = self._insert(PlatformRef).values(
            platform=platform, kind=kind, key=key, value=value, updated_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["platform", "kind", "key"],
            set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
        )
        async with self._write() as conn:
            await conn.execute(stmt)

    async def delete_ref(self, platform: str, kind: str, key: str) -> bool:
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
        async with self._write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def refs(self, platform: str, kind: str) -> dict[str, str]:
        """Return every key → value stored for (platform, kind)."""
        stmt = sa.select(PlatformRef.key, PlatformRef.value).where(
            PlatformRef.platform == platform, PlatformRef.kind == kind
        )
        async with self._read() as conn:
            return {key: value for key, value in await conn.execute(stmt)}
