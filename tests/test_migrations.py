"""Tests for the Alembic migrations of bot.store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.store import Store, alembic_config, current_revision, downgrade, make_engine, migrate
from bot.store.tables import Base, UtcDateTime
from tests.drills.world import queue_as_parts, seed_subscribers

NOW = datetime(2020, 8, 13, 9, 0, tzinfo=UTC)
TABLES = {
    "audience_parts",
    "chats",
    "subscriptions",
    "deliveries",
    "delivery_counts",
    "broadcasts",
    "audit",
    "platform_refs",
    "schedule_versions",
    "calendar_tokens",
    "dashboard_tokens",
}


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def test_upgrade_from_empty_to_head(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None
    assert await _tables(empty_database_url) == set()

    await migrate(empty_database_url)

    head = "0005_audience_parts"
    assert await current_revision(empty_database_url) == _head() == head
    assert await _tables(empty_database_url) == TABLES | {"alembic_version"}
    # Opening an up-to-date database is a no-op.
    store = await Store.open(empty_database_url)
    try:
        assert await current_revision(empty_database_url) == head
        if store.dialect == "sqlite":
            async with store.engine.connect() as conn:
                pragmas = [
                    (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout")
                ]
            assert pragmas == ["wal", 1, 30_000]
    finally:
        await store.close()


def _compare(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(empty_database_url: str) -> None:
    """tables.py and the migration scripts describe the same schema."""
    await migrate(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_compare) == []
    finally:
        await engine.dispose()


async def test_data_at_0001_survives_open(empty_database_url: str) -> None:
    await migrate(empty_database_url, "0001")
    engine = make_engine(empty_database_url)
    ts = UtcDateTime()
    try:
        async with engine.begin() as conn:
            # Plain SQL, as the 0001 schema had it, not today's models.
            await conn.execute(
                sa.text(
                    "INSERT INTO chats (platform, chat_id, kind, language, timezone, offsets,"
                    " status, created_at, updated_at) VALUES ('telegram', '42', 'private',"
                    " 'es', 'America/Bogota', ',60,', 'active', :now, :now)"
                ).bindparams(sa.bindparam("now", NOW, type_=ts))
            )
            chat_pk = (
                await conn.execute(sa.text("SELECT id FROM chats WHERE chat_id = '42'"))
            ).scalar_one()
            await conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (chat_pk, session_id, created_at)"
                    " VALUES (:pk, 's1', :now)"
                ).bindparams(sa.bindparam("now", NOW, type_=ts), pk=chat_pk)
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO deliveries (chat_pk, platform, kind, ref, session_id, status,"
                    " due_at, created_at, updated_at) VALUES (:pk, 'telegram', 'reminder',"
                    " 's1:60:1597309200', 's1', 'pending', :now, :now, :now)"
                ).bindparams(sa.bindparam("now", NOW, type_=ts), pk=chat_pk)
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO platform_refs (platform, kind, key, value, updated_at)"
                    " VALUES ('discord', 'event', 'g1:s1', '123', :now)"
                ).bindparams(sa.bindparam("now", NOW, type_=ts))
            )
    finally:
        await engine.dispose()

    store = await Store.open(empty_database_url)
    try:
        assert await current_revision(empty_database_url) == _head()
        chat = await store.chats.get("telegram", "42")
        assert chat is not None
        assert (chat.language, chat.timezone, chat.offsets) == ("es", "America/Bogota", (60,))
        assert await store.chats.subscriptions(chat.pk) == {"s1"}
        assert await store.refs.get("discord", "event", "g1:s1") == "123"
        [claimed] = await store.ledger.claim("telegram", limit=5, now=NOW)
        assert claimed.ref == "s1:60:1597309200" and claimed.due_at == NOW
        assert claimed.attempts == 1  # the server default filled attempts = 0
        # New rows get ids after the old ones (sequences/rowids carried on).
        other, created = await store.chats.get_or_create("telegram", "43", now=NOW)
        assert created and other.pk > chat.pk
    finally:
        await store.close()


async def test_downgrade_to_base_and_up_again(empty_database_url: str) -> None:
    """Downgrade is supported (to "base": drops every table); upgrading again works."""
    await migrate(empty_database_url)
    await downgrade(empty_database_url, "base")
    assert await current_revision(empty_database_url) is None
    assert await _tables(empty_database_url) <= {"alembic_version"}
    await migrate(empty_database_url)
    assert await _tables(empty_database_url) == TABLES | {"alembic_version"}


async def test_a_downgrade_keeps_a_queued_audience_as_pending_rows(
    empty_database_url: str,
) -> None:
    """Going back before audience parts writes their recipients as ledger rows: nobody
    queued is dropped."""
    store = await Store.open(empty_database_url)
    try:
        await seed_subscribers(store, "memory", 12, first_chat_id=1, now=NOW)
        queued = await queue_as_parts(store, "s1@start", NOW)
    finally:
        await store.close()
    assert queued == 12
    await downgrade(empty_database_url, "0004_ledger_without_foreign_keys")
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT chat_pk, ref, status FROM deliveries ORDER BY chat_pk")
            )
            assert [tuple(r) for r in rows] == [(pk, "s1@start", "pending") for pk in range(1, 13)]
    finally:
        await engine.dispose()
    await migrate(empty_database_url)
