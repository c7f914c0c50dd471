"""Reminders' fan-out reported to organizers who asked (`reminders.report_progress`).

A reminder that has been going out for a minute or more gets a progress message every minute
(sent, waiting, rate, time left) and, once every row is settled, a final count. The messages
go through the ledger like any other, due at the reminder's instant so that they are sent
ahead of its own queue rather than after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from bot.broadcasts import notify_organizers
from bot.config import Settings
from bot.constants import DeliveryKind, DeliveryStatus, still_waiting
from bot.delivery.progress import eta_seconds
from bot.i18n import languages, t
from bot.planner import ReminderRef
from bot.store import Store

log = logging.getLogger(__name__)

MINUTE = dt.timedelta(minutes=1)


class ReminderProgress:
    """Tells organizers how a long reminder fan-out goes, then how it went."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], dt.datetime],
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.wake = wake
        self._under_way: dict[str, dt.datetime] = {}  # refs reported on, by due instant

    async def check(self) -> int:
        """Queue a progress message for each reminder going out for a minute or more, and a
        final one for each reported that has finished; returns the rows queued."""
        now = self.clock()
        going = await self.store.ledger.unsettled_refs(DeliveryKind.REMINDER, due_by=now - MINUTE)
        queued = 0
        for ref, due in sorted(going.items()):
            minute = int((now - due) / MINUTE)
            queued += await self._tell(ref, due, now, key=f"{ref}:{minute}", ahead=True)
            self._under_way[ref] = due
        for ref in sorted(self._under_way.keys() - going.keys()):
            queued += await self._tell(ref, self._under_way.pop(ref), now, key=f"{ref}:done")
        if queued:
            self.wake()
        return queued

    async def _tell(
        self, ref: str, due: dt.datetime, now: dt.datetime, *, key: str, ahead: bool = False
    ) -> int:
        counts = await self.store.ledger.delivery_counts(kind=DeliveryKind.REMINDER, ref=ref)
        waiting = still_waiting(counts)
        parsed = ReminderRef.parse(ref)
        elapsed = max((now - due).total_seconds(), 1.0)
        sent = counts.get(DeliveryStatus.SENT, 0)
        fields = {
            "session": parsed.session_id if parsed else ref,
            "offset": parsed.offset if parsed else "?",
            "sent": sent,
            "blocked": counts.get(DeliveryStatus.BLOCKED, 0),
            "failed": counts.get(DeliveryStatus.FAILED, 0),
            "waiting": waiting,
            "elapsed": f"{elapsed:.0f}",
            "rate": round(sent / elapsed, 1),
            "eta": eta_seconds(waiting, sent / elapsed),
        }
        key_text = "fanout.reminder_progress" if waiting else "fanout.reminder_report"
        texts = {lang: t(key_text, lang, **fields) for lang in languages()}
        return await notify_organizers(
            self.store,
            self.settings.organizers.private_chats(),
            texts,
            key=f"fanout:{key}",
            now=now,
            # Ahead of the fan-out's own rows, all due at its instant or later.
            due_at=due - dt.timedelta(seconds=1) if ahead else now,
        )

    async def run(self, every: float = 60.0) -> None:
        """Check every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.check()
            except Exception:
                log.exception(
                    "reporting reminders' progress failed; trying again in %.0f s", every
                )
