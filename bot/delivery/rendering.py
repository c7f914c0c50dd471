"""Turning a claimed ledger row into the message its reader reads, or a reason not to send it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from bot.constants import EVERY_LANGUAGE, DeliveryKind
from bot.messages import Expired, Rendered
from bot.planner import ReminderRef
from bot.render import Reader, combine, reader_of, render_reminder
from bot.schedule import Schedule
from bot.store import Claimed

# Renders one kind of ledger row for one reader at `now`: a message, or why it must not go.
KindRenderer = Callable[[Claimed, Schedule, Reader, dt.datetime], Awaitable[Rendered]]
# The kinds whose message depends only on the row's kind, ref, session and broadcast, the
# reader and the second it is read in (not on the chat otherwise): one rendering serves
# every row alike within a batch, so a fan-out renders once per language and zone.
SHARED_KINDS = frozenset({DeliveryKind.REMINDER, DeliveryKind.BROADCAST, DeliveryKind.NOTICE})
# Renderings of one batch, by what makes two rows read alike (see `Renderer.render_shared`).
RenderCache = dict[tuple[object, ...], Rendered]


async def render_reminder_row(
    row: Claimed, schedule: Schedule, reader: Reader, now: dt.datetime
) -> Rendered:
    """A reminder, worded for `now`; expired if its session moved, ended or is gone."""
    session = schedule.session(row.session_id or "")
    if session is None:
        return Expired("session removed from the schedule")
    planned = ReminderRef.parse(row.ref)
    if session.start is None or planned is None or not planned.is_for(session.start):
        return Expired("session moved since this reminder was planned")
    message = render_reminder(schedule, session, reader, now)
    return message if message is not None else Expired("session ended before delivery")


class Renderer:
    """Turns a claimed ledger row into the message its recipient reads, or a reason not to.

    Reminders are rendered here; every other kind of row has its renderer in the module that
    owns that kind (broadcasts in bot/broadcasts.py, schedule-change notices in
    bot/changes.py), handed in at construction.
    """

    def __init__(
        self, schedule: Callable[[], Schedule], kinds: Mapping[str, KindRenderer] | None = None
    ) -> None:
        self.schedule = schedule
        self.kinds: dict[str, KindRenderer] = {
            DeliveryKind.REMINDER: render_reminder_row,
            **(kinds or {}),
        }

    async def render(self, row: Claimed, now: dt.datetime) -> Rendered:
        """The message for this row at `now`, or Expired saying why it must not go."""
        schedule = self.schedule()
        if row.chat.language == EVERY_LANGUAGE:
            # An announcement channel: one message in each of the event's languages.
            versions = []
            for lang in schedule.event.languages:
                chat = replace(row.chat, language=lang)
                version = await self.render(replace(row, chat=chat), now)
                if isinstance(version, Expired):
                    return version
                versions.append(version)
            return combine(versions)
        kind = self.kinds.get(row.kind)
        if kind is None:
            return Expired(f"no renderer for '{row.kind}' rows")
        return await kind(row, schedule, reader_of(row.chat, schedule), now)

    async def render_shared(self, row: Claimed, now: dt.datetime, cache: RenderCache) -> Rendered:
        """`render`, reusing what `cache` holds for a row alike read in the same second."""
        if row.kind not in SHARED_KINDS:
            return await self.render(row, now)
        chat = row.chat
        key = (
            row.kind,
            row.ref,
            row.session_id,
            row.broadcast_id,
            chat.language,
            chat.timezone,
            chat.tz_label,
            int(now.timestamp()),
        )
        found = cache.get(key)
        if found is None:
            found = cache[key] = await self.render(row, now)
        return found
