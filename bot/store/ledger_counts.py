"""Old final ledger rows pruned into per-(kind, ref, status) counts: the ledger kept in check."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.constants import DeliveryStatus
from bot.store.db import Database, chunks
from bot.store.tables import Delivery, DeliveryCount

# The outcomes a row never leaves: only these are pruned.
FINAL = (
    DeliveryStatus.SENT,
    DeliveryStatus.BLOCKED,
    DeliveryStatus.FAILED,
    DeliveryStatus.EXPIRED,
)


class LedgerCounts:
    """The pruned rows' counts repository: `store.ledger_counts`."""

    def __init__(self, db: Database) -> None:
        """Work through `db`."""
        self._db = db

    async def prune(self, before: datetime, *, now: datetime, batch: int = 5000) -> int:
        """Count then delete up to `batch` final rows settled before `before`; return how many.

        One transaction: the counts are added to `delivery_counts` and the rows deleted
        together, so a total never misses or doubles them. Call again until it returns less
        than `batch`.
        """
        # In id order: old rows come first, so the scan stops soon after `batch` of them.
        candidates = (
            sa.select(Delivery.id)
            .where(Delivery.status.in_([str(s) for s in FINAL]), Delivery.updated_at < before)
            .order_by(Delivery.id)
            .limit(batch)
        )
        async with self._db.write() as conn:
            ids = list((await conn.execute(candidates)).scalars())
            if not ids:
                return 0
            totals: dict[tuple[str, str, str], tuple[int | None, int]] = {}
            for chunk in chunks(ids):
                grouped = (
                    sa.select(
                        Delivery.kind,
                        Delivery.ref,
                        Delivery.status,
                        sa.func.max(Delivery.broadcast_id),
                        sa.func.count(),
                    )
                    .where(Delivery.id.in_(chunk))
                    .group_by(Delivery.kind, Delivery.ref, Delivery.status)
                )
                for kind, ref, status, broadcast_id, n in await conn.execute(grouped):
                    _, before_n = totals.get((kind, ref, status), (None, 0))
                    totals[(kind, ref, status)] = (broadcast_id, before_n + int(n))
            for (kind, ref, status), (broadcast_id, n) in totals.items():
                insert = self._db.insert(DeliveryCount).values(
                    kind=kind,
                    ref=ref,
                    broadcast_id=broadcast_id,
                    status=status,
                    count=n,
                    updated_at=now,
                )
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["kind", "ref", "status"],
                        set_={"count": DeliveryCount.count + n, "updated_at": now},
                    )
                )
            for chunk in chunks(ids):
                await conn.execute(sa.delete(Delivery).where(Delivery.id.in_(chunk)))
        return len(ids)

    async def total(self) -> int:
        """How many rows were pruned so far, all outcomes together."""
        stmt = sa.select(sa.func.coalesce(sa.func.sum(DeliveryCount.count), 0))
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())
