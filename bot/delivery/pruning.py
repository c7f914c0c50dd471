"""The ledger kept in check: final rows older than `delivery.keep_days` pruned into counts."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Final

from bot.store import Store

log = logging.getLogger(__name__)

# Rows per transaction: short enough not to hold up the fan-out's claims and marks.
BATCH: Final = 5000
# How often the pruner looks (seconds); the first look is soon after start.
EVERY: Final = 600.0
FIRST: Final = 30.0


class LedgerPruner:
    """Deletes final ledger rows settled more than `keep_days` ago, their counts kept first."""

    def __init__(self, store: Store, keep_days: int, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.keep_days = keep_days
        self.clock = clock

    async def prune(self, *, batch: int = BATCH, pause: float = 0.05) -> int:
        """Prune every row due for it now, batch by batch; return how many were pruned."""
        if self.keep_days <= 0:
            return 0
        now = self.clock()
        before = now - dt.timedelta(days=self.keep_days)
        pruned = 0
        while True:
            n = await self.store.ledger_counts.prune(before, now=now, batch=batch)
            pruned += n
            if n < batch:
                break
            await asyncio.sleep(pause)  # let claims and marks between two batches
        if pruned:
            log.info(
                "ledger: %d rows settled over %d days ago pruned (their counts kept)",
                pruned,
                self.keep_days,
            )
        return pruned

    async def run(self, *, first: float = FIRST, every: float = EVERY) -> None:
        """Prune soon after start, then every `every` seconds, until cancelled."""
        await asyncio.sleep(first)
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("pruning the ledger failed; trying again in %.0f s", every)
            await asyncio.sleep(every)
