"""Each guild's native scheduled events, kept in step with the schedule in force."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from bot.adapters.base import Core
from bot.adapters.discord.markdown import atoms, clip
from bot.adapters.discord.render import cut
from bot.config import Settings
from bot.i18n import t
from bot.i18n.formatting import language_name
from bot.schedule import Schedule, Session

log = logging.getLogger(__name__)

# The store's kind for a remembered event id (key: "guild id:session id").
EVENT_REF = "scheduled_event"
MAX_NAME = 100  # characters in an event's name
MAX_DESCRIPTION = 1000  # characters in an event's description
MAX_LOCATION = 100  # characters in an external event's location


@dataclass(frozen=True)
class EventSpec:
    """What a session's scheduled event should say."""

    name: str
    description: str
    location: str
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, schedule: Schedule, session: Session) -> EventSpec | None:
        """The event for a timed session: first-language name, link or "to be announced"."""
        end = session.assumed_end  # Discord requires an end
        if session.start is None or end is None:
            return None
        langs = schedule.event.languages
        first = langs[0]
        lines: list[str] = []
        for lang in langs[1:]:
            other = session.title.get(lang, langs)
            if other != session.title.get(first, langs):
                lines.append(other)
        if session.description is not None:
            seen: set[str] = set()
            for lang in langs:
                text = session.description.get(lang, langs)
                if text not in seen:
                    seen.add(text)
                    lines.extend(("", text))
        if session.streams:
            lines.append("")
            for lang, url in session.streams:
                # Worded as a session card words it, in the event's first language.
                label = t("session.watch", first, language=language_name(lang, first))
                lines.append(t("session.watch_line", first, label=label, link=url))
        # Discord shows an event's description as markdown: the schedule's text is escaped
        # there. Its name and location are shown as typed, markup and all, so they are not.
        description = atoms("\n".join(lines).strip(), longest=MAX_DESCRIPTION)
        return cls(
            name=cut(session.title.get(first, langs), MAX_NAME),
            description=clip(description, MAX_DESCRIPTION),
            location=cut(
                session.stream(first, langs) or t("session.link_tba", first), MAX_LOCATION
            ),
            start=session.start,
            end=end,
        )


class ScheduledEvents:
    """Creates, edits and cancels one client's scheduled events to match the schedule."""

    def __init__(
        self,
        platform: str,
        client: discord.Client,
        core: Core,
        settings: Settings,
        *,
        clock: Callable[[], dt.datetime],
        lock: asyncio.Lock,
    ) -> None:
        self.platform = platform
        self.client = client
        self.core = core
        self.settings = settings
        self.clock = clock
        # The adapter's, not this client's: every sync of one adapter takes its turn.
        self.lock = lock

    async def sync(self, schedule: Schedule) -> None:
        """Create, update or cancel each guild's scheduled events to match `schedule`."""
        config = self.settings.discord
        if not (config.scheduled_events and config.guild_ids):
            return
        async with self.lock:  # a reload during the start's sync waits its turn
            for guild_id in config.guild_ids:
                try:
                    await self._sync_guild(guild_id, schedule)
                except discord.HTTPException as exc:
                    log.error(
                        "discord: scheduled events of guild %s: %s %s",
                        guild_id,
                        exc.status,
                        exc.text,
                    )
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.error("discord: scheduled events of guild %s: %r", guild_id, exc)

    async def _sync_guild(self, guild_id: str, schedule: Schedule) -> None:
        """One guild: cancel events of removed sessions, create or edit the others."""
        client, core = self.client, self.core
        guild = client.get_guild(int(guild_id))
        if guild is None:
            log.warning("discord: not in guild %s; its scheduled events are left alone", guild_id)
            return
        # One listing per sync, straight from the API: the gateway's cache may not yet show
        # an edit made a moment ago, and a stale view would skip a needed edit.
        current = {e.id: e for e in await guild.fetch_scheduled_events(with_counts=False)}
        stored = await core.recall_all(self.platform, EVENT_REF)
        mine: dict[str, int] = {}
        for key, value in stored.items():
            stored_guild, _, session_id = key.partition(":")
            if stored_guild == guild_id and value.isdigit():
                mine[session_id] = int(value)
        for session_id, event_id in mine.items():
            session = schedule.session(session_id)
            if session is None or session.start is None:
                gone = current.pop(event_id, None)
                if gone is not None:
                    with contextlib.suppress(discord.NotFound):
                        await gone.delete()
                    log.info("discord: scheduled event of %s deleted", session_id)
                await core.forget(self.platform, EVENT_REF, f"{guild_id}:{session_id}")
        now = self.clock()
        bot_id = client.user.id if client.user is not None else None
        claimed = set(mine.values())
        for session in schedule.sessions:
            spec = EventSpec.of(schedule, session)
            if spec is None or session.is_over(now):
                continue
            event = current.get(mine.get(session.id, 0))
            if event is None:
                # Created just before a crash, never remembered: adopt it, do not duplicate.
                event = next(
                    (
                        e
                        for e in current.values()
                        if e.id not in claimed
                        and e.creator_id == bot_id
                        and e.name == spec.name
                        and e.start_time == spec.start
                        and e.status is discord.EventStatus.scheduled
                    ),
                    None,
                )
            if event is None or event.status in (
                discord.EventStatus.completed,
                discord.EventStatus.cancelled,
            ):
                if spec.start <= now:
                    continue  # Discord cannot schedule an event in the past
                event = await self._create(guild, spec)
                log.info("discord: scheduled event of %s created in %s", session.id, guild_id)
            else:
                await self._update(event, spec, now)
            claimed.add(event.id)
            if mine.get(session.id) != event.id:
                key = f"{guild_id}:{session.id}"
                await core.remember(self.platform, EVENT_REF, key, str(event.id))

    async def _create(self, guild: discord.Guild, spec: EventSpec) -> discord.ScheduledEvent:
        """A new external event, visible to the guild's members."""
        extra: dict[str, Any] = {"description": spec.description} if spec.description else {}
        return await guild.create_scheduled_event(
            name=spec.name,
            start_time=spec.start,
            end_time=spec.end,
            location=spec.location,
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            **extra,
        )

    async def _update(
        self, event: discord.ScheduledEvent, spec: EventSpec, now: dt.datetime
    ) -> None:
        """Edit the event where it differs from the schedule (nothing is sent otherwise)."""
        changes: dict[str, Any] = {}
        if event.name != spec.name:
            changes["name"] = spec.name
        if (event.description or "") != spec.description:
            changes["description"] = spec.description
        if event.location != spec.location:
            changes["location"] = spec.location
        if event.end_time != spec.end:
            changes["end_time"] = spec.end
        # A started event keeps its start; a new start must lie ahead.
        started = event.status is not discord.EventStatus.scheduled
        if event.start_time != spec.start and not started and spec.start > now:
            changes["start_time"] = spec.start
        if not changes:
            return
        # discord.py wants the location with any edit of an external event, Discord the end.
        changes.setdefault("location", spec.location)
        changes.setdefault("end_time", spec.end)
        await event.edit(
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            **changes,
        )
        log.info("discord: scheduled event %s updated (%s)", event.id, ", ".join(sorted(changes)))
