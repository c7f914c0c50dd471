"""A large reminder's audience kept as parts of chat pks until the fan-out reaches it.

A reminder to a million chats was a million ledger rows written at its due instant: 9 s on
PostgreSQL with every index (a bare table alone took 4.4 s here), 4 to 5 s on SQLite, and the
last chats' rows were in long after the first message went. Instead, each chunk of the
audience is written as parts of up to PART_SIZE chat pks (an array on PostgreSQL, a JSON
array on SQLite: a thousand parts for a million chats), and the claim turns parts into
ordinary ledger rows as the fan-out reaches them, a block of chats at a time, in one
transaction (the part deleted and its rows inserted together, so that a chat is always in
exactly one of the two).

Everything else keeps to rows: a part is pending rows not yet written. Counts add the parts'
sizes as pending; the claim takes a part as soon as a claim would reach its due instant (in
due order, as rows were); the reminders of one minute to the same chats are in the same
block (pk // PART_SIZE) and become rows together, so a chat's reminders of a minute still go
as one message; a reminder that may supersede another is written as rows, after the other's
parts in its chunk became rows, so that expire_superseded sees both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.constants import DeliveryKind, DeliveryStatus
from bot.store.db import Dialect
from bot.store.tables import AudiencePart, Chat, Delivery, UtcDateTime

PART_SIZE = 1000  # chat pks per part, and per block of pks (pk // PART_SIZE)

# A part's chat pks: a PostgreSQL array, a JSON array on SQLite. How they are gathered, and
# how many a part holds.
_AGGREGATE: dict[str, Any] = {"postgresql": sa.func.array_agg, "sqlite": sa.func.json_group_array}
_LENGTH: dict[str, Any] = {"postgresql": sa.func.cardinality, "sqlite": sa.func.json_array_length}

_NOW = sa.bindparam("now", type_=UtcDateTime())
_PLATFORM: sa.BindParameter[str] = sa.bindparam("b_platform", type_=sa.String())
_ROW_COLUMNS = [
    "chat_pk",
    "platform",
    "kind",
    "ref",
    "session_id",
    "status",
    "attempts",
    "due_at",
    "created_at",
    "updated_at",
]
# The earliest part of a platform due by now: the next block to become rows.
_NEXT_DUE = (
    sa.select(AudiencePart.due_at, AudiencePart.first_pk)
    .where(AudiencePart.platform == _PLATFORM, AudiencePart.due_at <= _NOW)
    .order_by(AudiencePart.due_at, AudiencePart.first_pk)
    .limit(1)
)
# Whether a platform has a part at all (due or not).
_ANY_PART = sa.select(AudiencePart.id).where(AudiencePart.platform == _PLATFORM).limit(1)
# The due instant of a platform's `skip`+1-th claimable row (along the claim's index): the
# last row a claim of skip+1 rows would take, if there are that many.
_LAST_CLAIMED = (
    sa.select(Delivery.due_at)
    .where(
        Delivery.platform == _PLATFORM,
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.due_at <= _NOW,
        sa.or_(Delivery.not_before.is_(None), Delivery.not_before <= _NOW),
    )
    .order_by(Delivery.due_at)
    .offset(sa.bindparam("skip"))
    .limit(1)
)


def write_statement(
    dialect: Dialect,
    where: Sequence[sa.ColumnElement[bool]],
    *,
    kind: DeliveryKind,
    ref: str,
    session_id: str | None,
    due_at: datetime,
    now: datetime,
) -> sa.Insert:
    """The chats matching `where` as parts of one block of pks each, in one INSERT … SELECT;
    it returns each new part's size. A part already written (a chunk written again) stays."""
    block = Chat.id // PART_SIZE  # integer division: the block of pks
    source = (
        sa.select(
            sa.literal(str(kind), sa.String),
            sa.literal(ref, sa.String),
            sa.literal(session_id, sa.String),
            Chat.platform,
            sa.literal(due_at, UtcDateTime()),
            sa.func.min(Chat.id),
            _AGGREGATE[dialect](Chat.id),
            sa.literal(now, UtcDateTime()),
        )
        .where(*where)
        .group_by(Chat.platform, block)
    )
    columns = [
        "kind",
        "ref",
        "session_id",
        "platform",
        "due_at",
        "first_pk",
        "chat_pks",
        "created_at",
    ]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(AudiencePart)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["kind", "ref", "platform", "first_pk"])
        .returning(_LENGTH[dialect](AudiencePart.chat_pks))
    )


async def _to_rows(conn: AsyncConnection, *where: sa.ColumnElement[bool], now: datetime) -> int:
    """The parts matching `where` become pending ledger rows (rows already there stay);
    returns how many rows were inserted."""
    if conn.dialect.name == "postgresql":
        # One statement: the parts deleted and their rows inserted together.
        taken = (
            sa.delete(AudiencePart)
            .where(*where)
            .returning(
                AudiencePart.kind,
                AudiencePart.ref,
                AudiencePart.session_id,
                AudiencePart.platform,
                AudiencePart.due_at,
                AudiencePart.chat_pks,
            )
            .cte("taken")
        )
        source = sa.select(sa.func.unnest(taken.c.chat_pks), *_row_values(taken.c, now))
        stmt = postgresql.insert(Delivery).from_select(_ROW_COLUMNS, source)
        return int((await conn.execute(_skip_written(stmt))).rowcount)
    # SQLite: no DELETE in a WITH clause; two statements of one transaction, which holds
    # the database's write lock from its start.
    pks = sa.func.json_each(AudiencePart.chat_pks).table_valued("value")
    source = (
        sa.select(pks.c.value, *_row_values(AudiencePart.__table__.c, now))
        .select_from(AudiencePart)
        .join(pks, sa.true())
        .where(*where)
    )
    added = await conn.execute(
        _skip_written(sqlite.insert(Delivery).from_select(_ROW_COLUMNS, source))
    )
    await conn.execute(sa.delete(AudiencePart).where(*where))
    return int(added.rowcount)


def _row_values(part: Any, now: datetime) -> list[sa.ColumnElement[Any]]:
    """A row's columns after its chat pk, from a part's columns (`part`: a table's `c`)."""
    return [
        part.platform,
        part.kind,
        part.ref,
        part.session_id,
        sa.literal(DeliveryStatus.PENDING, sa.String),
        sa.literal(0, sa.Integer),
        part.due_at,
        sa.literal(now, UtcDateTime()),
        sa.literal(now, UtcDateTime()),
    ]


def _skip_written(stmt: Any) -> Any:
    """ON CONFLICT DO NOTHING on the ledger's unique (chat, kind, ref)."""
    return stmt.on_conflict_do_nothing(index_elements=["chat_pk", "kind", "ref"])


async def rows_for_claim(
    conn: AsyncConnection, platform: str, *, want: int, now: datetime
) -> bool:
    """Turn the platform's due parts into rows, a block at a time, as long as a claim of
    `want` rows would reach past the next part's due instant; returns whether the platform
    has parts left.

    The claim then takes rows in due order as if every recipient had been a row all along,
    and rows are added only a claim ahead of the fan-out (a part due at the same instant as
    the rows waits for them, so a million recipients due at once are not all written first).
    """
    values = {"b_platform": platform, "now": now, "skip": max(want, 1) - 1}
    while (part := (await conn.execute(_NEXT_DUE, values)).first()) is not None:
        last = (await conn.execute(_LAST_CLAIMED, values)).scalar_one_or_none()
        if last is not None and part.due_at >= last:
            return True  # the claim has its rows without this part's
        await _to_block_rows(conn, platform, part.first_pk, part.due_at, now=now)
    return (await conn.execute(_ANY_PART, values)).first() is not None


async def rows_alongside(
    conn: AsyncConnection, platform: str, claimed: dict[datetime, set[int]], *, now: datetime
) -> int:
    """Turn into rows the due parts with the claimed chats' other reminders of a minute
    (`claimed`: chat pks by minute), so that Ledger.claim_alongside finds them."""
    added = 0
    for minute, pks in claimed.items():
        for block in sorted({pk // PART_SIZE for pk in pks}):
            added += await _to_block_rows(conn, platform, block * PART_SIZE, minute, now=now)
    return added


async def _to_block_rows(
    conn: AsyncConnection, platform: str, pk: int, due: datetime, *, now: datetime
) -> int:
    """The platform's parts due by `now` in `due`'s minute, of `pk`'s block, become rows:
    every reminder of that minute to those chats at once (claim_alongside bundles them)."""
    minute = due.replace(second=0, microsecond=0)
    low = pk // PART_SIZE * PART_SIZE
    return await _to_rows(
        conn,
        AudiencePart.platform == platform,
        AudiencePart.due_at >= minute,
        AudiencePart.due_at < minute + timedelta(minutes=1),
        AudiencePart.due_at <= now,
        AudiencePart.first_pk >= low,
        AudiencePart.first_pk < low + PART_SIZE,
        now=now,
    )


async def rows_for_session(
    conn: AsyncConnection, session_id: str, pk_range: tuple[int, int] | None, *, now: datetime
) -> int:
    """Turn the session's reminder parts (of the chats in `pk_range`) into rows: before a
    reminder that may supersede them is written."""
    where = [AudiencePart.kind == DeliveryKind.REMINDER, AudiencePart.session_id == session_id]
    if pk_range is not None:
        # A part's chats are all in its first pk's block, and a chunk is whole blocks or
        # inside one: bounding the first pk by the block bounds finds every part with a
        # chat of the range.
        low = pk_range[0] // PART_SIZE * PART_SIZE
        where += [AudiencePart.first_pk >= low, AudiencePart.first_pk < pk_range[1]]
    return await _to_rows(conn, *where, now=now)


async def pending_before(conn: AsyncConnection, session_id: str, before: datetime) -> bool:
    """Whether a part of the session's reminders is due before `before`."""
    stmt = (
        sa.select(AudiencePart.id)
        .where(
            AudiencePart.kind == DeliveryKind.REMINDER,
            AudiencePart.session_id == session_id,
            AudiencePart.due_at < before,
        )
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


def size(dialect: Dialect) -> sa.ColumnElement[int]:
    """The number of recipients in the parts a query reads (an aggregate)."""
    return sa.func.coalesce(sa.func.sum(_LENGTH[dialect](AudiencePart.chat_pks)), 0)


async def move_chat(conn: AsyncConnection, old_pk: int, new_pk: int) -> None:
    """A chat's recipient entries go to its successor (a group migrated to a supergroup)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            sa.update(AudiencePart)
            .where(AudiencePart.chat_pks.contains([old_pk]))
            .values(chat_pks=sa.func.array_replace(AudiencePart.chat_pks, old_pk, new_pk))
        )
        return
    # SQLite: the parts are few (a thousand per million recipients still to send) and a
    # migration is rare: read them all.
    for part_id, pks in await conn.execute(sa.select(AudiencePart.id, AudiencePart.chat_pks)):
        if old_pk in pks:
            moved = [new_pk if pk == old_pk else pk for pk in pks]
            await conn.execute(
                sa.update(AudiencePart).where(AudiencePart.id == part_id).values(chat_pks=moved)
            )
