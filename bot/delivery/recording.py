"""Recording outcomes in the ledger: retried until they land; sent rows in group commits."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.errors import brief
from bot.store import Store

log = logging.getLogger(__name__)


async def record_outcome(what: str, write: Callable[[], Awaitable[object]]) -> None:
    """Record an outcome in the ledger, retrying while the database is unreachable.

    The message went out (or failed) already: giving up would leave its row "sending"
    until the next start, so the write is retried until it lands (or the engine stops).
    """
    delay = 0.2
    while True:
        try:
            await write()
            return
        except Exception as exc:
            log.warning("recording %s failed, retrying in %.1f s: %s", what, delay, brief(exc))
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


class SentMarks:
    """Marks sent rows in groups: one transaction for every send that ended meanwhile.

    A group commit with no timer: while one transaction runs, the sends that end queue
    their rows, and the next transaction takes them all, so a busy engine writes many rows
    per commit and an idle one writes each row at once.
    """

    def __init__(self, store: Store, clock: Callable[[], dt.datetime]) -> None:
        self._store = store
        self._clock = clock
        self._pending: list[int] = []
        self._flushes = 0
        self._lock = asyncio.Lock()

    async def mark(self, *row_ids: int) -> None:
        """Mark the rows sent (one message's); returns once the ledger says so."""
        self._pending.extend(row_ids)
        flushes = self._flushes
        async with self._lock:
            if self._flushes > flushes:
                return  # a transaction that began after the append took these rows along
            # One turn of the loop before taking the group: the sends that ended in the same
            # turn (a slice of the spread ends together) join this commit rather than queue
            # for the next one. Alone, the two alternated between one row and the rest.
            await asyncio.sleep(0)
            ids, self._pending = self._pending, []
            self._flushes += 1
            await record_outcome(
                f"{len(ids)} sent row(s)", lambda: self._store.ledger.mark_sent(ids, self._clock())
            )
