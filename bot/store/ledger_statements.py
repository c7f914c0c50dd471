"""The ledger's per-message statements, built once with bound parameters.

The delivery engine runs these for every message: built once rather than per call, which
saves most of their Python cost (SQLAlchemy's compiled cache is keyed on the statement's
structure, which would otherwise be rebuilt each time).
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.constants import ChatStatus, DeliveryKind, DeliveryStatus
from bot.store.chats import CHAT_COLUMNS
from bot.store.db import Dialect
from bot.store.tables import Chat, Delivery, UtcDateTime

NOW = sa.bindparam("now", type_=UtcDateTime())
LEDGER_CHATS = sa.select(*CHAT_COLUMNS).where(Chat.id.in_(sa.bindparam("pks", expanding=True)))
MARK_SENT = (
    sa.update(Delivery)
    .where(Delivery.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status=DeliveryStatus.SENT, sent_at=NOW, last_error=None, updated_at=NOW)
)
MARK_BLOCKED = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(status=DeliveryStatus.BLOCKED, last_error=sa.bindparam("error"), updated_at=NOW)
    .returning(Delivery.chat_pk)
)
BLOCK_CHAT = (
    sa.update(Chat)
    .where(Chat.id == sa.bindparam("pk"), Chat.status == ChatStatus.ACTIVE)
    .values(status=ChatStatus.BLOCKED, updated_at=NOW)
)
SET_FINAL = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(status=sa.bindparam("b_status"), last_error=sa.bindparam("error"), updated_at=NOW)
)
LEDGER_PENDING_BEFORE = (
    sa.select(Delivery.id)
    .where(
        Delivery.platform == sa.bindparam("b_platform"),
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.due_at < sa.bindparam("before", type_=UtcDateTime()),
        Delivery.kind == DeliveryKind.REMINDER,
        Delivery.session_id == sa.bindparam("session_id"),
    )
    .limit(1)
)
RETRY_LATER = (
    sa.update(Delivery)
    .where(Delivery.id == sa.bindparam("b_id"))
    .values(
        status=DeliveryStatus.PENDING,
        not_before=sa.bindparam("b_not_before", type_=UtcDateTime()),
        last_error=sa.bindparam("error"),
        updated_at=NOW,
    )
)


def claim_statement(dialect: Dialect) -> sa.Update:
    """The claim, which differs by dialect: due pending rows of a platform → "sending"."""
    candidates = (
        sa.select(Delivery.id)
        .where(
            Delivery.platform == sa.bindparam("b_platform"),
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.due_at <= NOW,
            sa.or_(Delivery.not_before.is_(None), Delivery.not_before <= NOW),
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
        .where(
            Delivery.id.in_(sa.select(claimable.c.id)), Delivery.status == DeliveryStatus.PENDING
        )
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=NOW,
            attempts=Delivery.attempts + 1,
            updated_at=NOW,
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
    return claim
