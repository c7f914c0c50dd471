"""Drains the ledger: claim, render, pace, send, record the outcome, retry."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.adapters.base import (
    Adapter,
    Blocked,
    Migrated,
    Recipient,
    Rejected,
    RetryAfter,
    SendError,
    Transient,
)
from bot.commands import reader_of
from bot.config import Delivery as DeliverySettings
from bot.messages import Rendered
from bot.ratelimit import PlatformPacer
from bot.render import Reader, combine, render_reminder
from bot.schedule import Schedule
from bot.store import Claimed, Store

log = logging.getLogger(__name__)

EVERY_LANGUAGE = "*"  # the language of an announcement channel: all of the event's



@dataclass
class Progress:
    """Counts of one platform's fan-out, for the progress log."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    expired: int = 0

    def line(self) -> str:
        """A log line: counts, elapsed time and rate."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"sent {self.sent}, blocked {self.blocked}, failed {self.failed}, "
            f"expired {self.expired}, {elapsed:.1f} s, {self.sent / elapsed:.1f} msg/s"
        )


# Renders one kind of ledger row for one reader at `now`: a message, or why it must not go.
KindRenderer = Callable[[Claimed, Schedule, Reader, dt.datetime], Awaitable[Rendered]]


async def render_reminder_row(
    row: Claimed, schedule: Schedule, reader: Reader, now: dt.datetime
) -> Rendered:
    """A reminder, worded for `now`; expired if its session moved, ended or is gone."""
    session = schedule.session(row.session_id or "")
    if session is None:
        return "session removed from the schedule"
    if session.start is None or not row.ref.endswith(f":{int(session.start.timestamp())}"):
        return "session moved since this reminder was planned"
    message = render_reminder(schedule, session, reader, now)
    return message if message is not None else "session ended before delivery"


class Renderer:
    """Turns a claimed ledger row into the message its recipient reads, or a reason not to.

    Each kind of row has its renderer in the module that owns that kind (reminders here,
    broadcasts in bot/broadcasts.py, schedule-change notices in bot/changes.py).
    """

    def __init__(self, schedule: Callable[[], Schedule]) -> None:
        self.schedule = schedule
        self.kinds: dict[str, KindRenderer] = {"reminder": render_reminder_row}

    async def render(self, row: Claimed, now: dt.datetime) -> Rendered:
        """The message for this row at `now`; a string says why it expired instead."""
        schedule = self.schedule()
        if row.chat.language == EVERY_LANGUAGE:
            # An announcement channel: one message in each of the event's languages.
            versions = []
            for lang in schedule.event.languages:
                chat = replace(row.chat, language=lang)
                version = await self.render(replace(row, chat=chat), now)
                if isinstance(version, str):
                    return version
                versions.append(version)
            return combine(versions)
        kind = self.kinds.get(row.kind)
        if kind is None:
            return f"no renderer for {row.kind!r} rows"
        return await kind(row, schedule, reader_of(row.chat, schedule), now)


class DeliveryEngine:
    """One drain loop per platform; the ledger, not memory, says what is left to send."""

    def __init__(
        self,
        store: Store,
        adapters: dict[str, Adapter],
        renderer: Renderer,
        settings: DeliverySettings,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.renderer = renderer
        self.settings = settings
        self.clock = clock
        self.pacers = {name: PlatformPacer(a.limits) for name, a in adapters.items()}
        self._wake = {name: asyncio.Event() for name in adapters}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.progress = {name: Progress() for name in adapters}
        # Run whenever a platform's queue runs dry (e.g. to report finished broadcasts).
        self.idle_hooks: list[Callable[[], Awaitable[None]]] = []

    def wake(self, platform: str | None = None) -> None:
        """New rows may be due: look at the ledger now rather than at the next poll."""
        for name, event in self._wake.items():
            if platform is None or name == platform:
                event.set()

    async def start(self) -> None:
        """Hand back rows a crash left in flight, then start draining every platform."""
        requeued = await self.store.requeue_inflight(now=self.clock())
        if requeued:
            log.warning(
                "%d deliveries were in flight at the last stop: sending them again", requeued
            )
        for platform in self.adapters:
            self._tasks.append(asyncio.create_task(self._loop(platform), name=f"drain-{platform}"))

    async def stop(self) -> None:
        """Stop claiming; sends in flight finish (or go back to pending at the next start)."""
        self._stopping = True
        self.wake()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=8)
            except TimeoutError:
                task.cancel()
        self._tasks.clear()

    async def _loop(self, platform: str) -> None:
        idle_poll = 5.0
        while not self._stopping:
            try:
                worked = await self.drain_once(platform)
            except Exception:
                log.exception("delivery loop on %s failed; retrying in %s s", platform, idle_poll)
                worked = 0
            if worked:
                continue
            self._report(platform)
            await self.run_idle_hooks()
            wait = idle_poll
            upcoming = await self.store.next_due(platform)
            if upcoming is not None:
                wait = min(wait, max((upcoming - self.clock()).total_seconds(), 0.05))
            event = self._wake[platform]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=wait)
            event.clear()

    async def run_idle_hooks(self) -> None:
        """Run the hooks that follow a drained queue; a failing hook is logged, not fatal."""
        for hook in self.idle_hooks:
            try:
                await hook()
            except Exception:
                log.exception("an idle hook of the delivery engine failed")

    def _report(self, platform: str) -> None:
        progress = self.progress[platform]
        done = progress.sent + progress.blocked + progress.failed + progress.expired
        if done:
            log.info("%s fan-out finished: %s", platform, progress.line())
        self.progress[platform] = Progress()

    async def drain_once(self, platform: str) -> int:
        """Claim one batch of due rows and send them; returns how many were handled."""
        rows = await self.store.claim(platform, limit=self.settings.batch, now=self.clock())
        if not rows:
            return 0
        limit = asyncio.Semaphore(self.settings.in_flight)

        async def one(row: Claimed) -> None:
            async with limit:
                await self._deliver(platform, row)

        await asyncio.gather(*(one(row) for row in rows))
        return len(rows)

    async def _deliver(self, platform: str, row: Claimed) -> None:
        adapter = self.adapters[platform]
        progress = self.progress[platform]
        rendered = await self.renderer.render(row, self.clock())
        if isinstance(rendered, str):
            await self.store.mark_expired(row.id, rendered, self.clock())
            progress.expired += 1
            return
        recipient = Recipient(row.chat.chat_id, row.chat.kind, row.chat.user_id)
        pacer = self.pacers[platform]
        try:
            await pacer.acquire(recipient.chat_id, group=recipient.kind != "private")
            await adapter.send(recipient, rendered, key=str(row.id))
        except Migrated as exc:
            await self.store.migrate_chat(
                platform, row.chat.chat_id, exc.new_chat_id, now=self.clock()
            )
            await self.store.retry_later(
                row.id, not_before=self.clock(), error=str(exc), now=self.clock()
            )
            return
        except RetryAfter as exc:
            pacer.pause(exc.seconds)
            when = self.clock() + dt.timedelta(seconds=exc.seconds)
            await self.store.retry_later(row.id, not_before=when, error=str(exc), now=self.clock())
            return
        except Blocked as exc:
            await self.store.mark_blocked(row.id, str(exc) or "blocked", self.clock())
            progress.blocked += 1
            return
        except Rejected as exc:
            await self.store.mark_failed(row.id, str(exc), self.clock())
            progress.failed += 1
            return
        except (Transient, SendError, OSError, TimeoutError) as exc:
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
            return
        except Exception as exc:  # an adapter bug must not lose the row: record and retry
            log.exception("unexpected error sending delivery %d on %s", row.id, platform)
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
            return
        await self.store.mark_sent([row.id], self.clock())
        progress.sent += 1
        every = self.settings.progress_every
        if every and progress.sent % every == 0:
            log.info("%s fan-out in progress: %s", platform, progress.line())

    async def _retry_or_fail(self, row: Claimed, error: str, progress: Progress) -> None:
        if row.attempts >= self.settings.max_attempts:
            await self.store.mark_failed(row.id, error, self.clock())
            progress.failed += 1
            return
        waits = self.settings.backoff_seconds
        wait = waits[min(row.attempts - 1, len(waits) - 1)]
        when = self.clock() + dt.timedelta(seconds=wait)
        await self.store.retry_later(row.id, not_before=when, error=error, now=self.clock())
