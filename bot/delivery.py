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
    parts_of,
)
from bot.commands import reader_of
from bot.config import Delivery as DeliverySettings
from bot.messages import Rendered
from bot.planner import is_quiet
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
# The kinds whose message depends only on the row's kind, ref, session and broadcast, the
# reader and the second it is read in (not on the chat otherwise): one rendering serves
# every row alike within a batch, so a fan-out renders once per language and zone.
SHARED_KINDS = frozenset({"reminder", "broadcast", "notice"})


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

    async def render_shared(
        self, row: Claimed, now: dt.datetime, cache: dict[tuple[object, ...], Rendered]
    ) -> Rendered:
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
        self._unsure: set[str] = set()  # platforms whose last batch may have left orphans
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
        requeued = await self.store.ledger.requeue_inflight(now=self.clock())
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
            failed = False
            try:
                worked = await self.drain_once(platform)
            except Exception:
                log.exception("delivery loop on %s failed; retrying shortly", platform)
                worked, failed = 0, True
            if worked:
                continue
            # After a failure (the database restarting, say) look again soon.
            wait = 1.0 if failed else idle_poll
            try:
                self._report(platform)
                await self.run_idle_hooks()
                upcoming = await self.store.ledger.next_due(platform)
                if upcoming is not None:
                    wait = min(wait, max((upcoming - self.clock()).total_seconds(), 0.05))
            except Exception:
                log.exception("looking for due deliveries on %s failed", platform)
                wait = 1.0
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
        if platform in self._unsure:
            # The last claim failed, possibly after its commit: rows it marked "sending"
            # would wait for the next start. Nothing of this platform is in flight between
            # two batches, so every such row is an orphan and goes back to pending.
            requeued = await self.store.ledger.requeue_inflight(
                now=self.clock(), platform=platform
            )
            self._unsure.discard(platform)
            if requeued:
                log.warning(
                    "%d %s deliveries left claimed by a failed call: requeued", requeued, platform
                )
        try:
            rows = await self.store.ledger.claim(
                platform, limit=self.settings.batch, now=self.clock()
            )
        except Exception:
            self._unsure.add(platform)
            raise
        if not rows:
            return 0
        # A row holds its slot until its outcome is in the ledger, so that at most
        # `in_flight` rows can have been sent without the ledger knowing (the duplicates a
        # crash can cause), however the marking is batched.
        slots = asyncio.Semaphore(self.settings.in_flight)
        sent = _SentMarks(self._write, self.store, self.clock)
        cache: dict[tuple[object, ...], Rendered] = {}

        async def one(row: Claimed) -> None:
            async with slots:
                await self._deliver(platform, row, sent, cache)

        # Every send finishes before an error is raised: the batch must be over when the
        # next one starts (see the requeue above).
        outcomes = await asyncio.gather(*(one(row) for row in rows), return_exceptions=True)
        errors = [e for e in outcomes if isinstance(e, BaseException)]
        if errors:
            self._unsure.add(platform)
            raise errors[0]
        return len(rows)

    async def _write(self, what: str, write: Callable[[], Awaitable[object]]) -> None:
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
                log.warning("recording %s failed, retrying in %.1f s: %s", what, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _deliver(
        self,
        platform: str,
        row: Claimed,
        sent: _SentMarks,
        cache: dict[tuple[object, ...], Rendered],
    ) -> None:
        adapter = self.adapters[platform]
        progress = self.progress[platform]
        try:
            rendered = await self.renderer.render_shared(row, self.clock(), cache)
        except Exception as exc:  # e.g. a broadcast's text could not be read: try again later
            log.warning("rendering delivery %d failed: %s", row.id, exc)
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
            return
        if isinstance(rendered, str):
            reason = rendered
            await self._write(
                "an expired row",
                lambda: self.store.ledger.mark_expired(row.id, reason, self.clock()),
            )
            progress.expired += 1
            return
        chat = row.chat
        if chat.quiet is not None:
            # What reaches a reader in their quiet hours (a notice, a broadcast, a late
            # reminder) arrives without a sound: in time, but nobody is woken.
            zone = chat.timezone or self.renderer.schedule().event.timezone
            if is_quiet(self.clock(), zone, chat.quiet):
                rendered = replace(rendered, silent=True)
        recipient = Recipient(chat.chat_id, chat.kind, chat.user_id)
        pacer = self.pacers[platform]
        try:
            parts = parts_of(rendered, adapter.limits)
            group = recipient.kind != "private"
            async with pacer.sending(recipient.chat_id, group=group, parts=parts):
                await adapter.send(recipient, rendered, key=str(row.id))
        except Migrated as exc:
            new_id = exc.new_chat_id
            await self._write(
                "a migrated chat",
                lambda: self.store.chats.migrate(
                    platform, row.chat.chat_id, new_id, now=self.clock()
                ),
            )
            await self._retry_at(row, self.clock(), str(exc))
            return
        except RetryAfter as exc:
            pacer.pause(exc.seconds)
            await self._retry_at(row, self.clock() + dt.timedelta(seconds=exc.seconds), str(exc))
            return
        except Blocked as exc:
            error = str(exc) or "blocked"
            await self._write(
                "a blocked chat",
                lambda: self.store.ledger.mark_blocked(row.id, error, self.clock()),
            )
            progress.blocked += 1
            return
        except Rejected as exc:
            error = str(exc)
            await self._write(
                "a rejected row",
                lambda: self.store.ledger.mark_failed(row.id, error, self.clock()),
            )
            progress.failed += 1
            return
        except (Transient, SendError, OSError, TimeoutError) as exc:
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
            return
        except Exception as exc:  # an adapter bug must not lose the row: record and retry
            log.exception("unexpected error sending delivery %d on %s", row.id, platform)
            await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
            return
        await sent.mark(row.id)
        progress.sent += 1
        every = self.settings.progress_every
        if every and progress.sent % every == 0:
            log.info("%s fan-out in progress: %s", platform, progress.line())

    async def _retry_at(self, row: Claimed, when: dt.datetime, error: str) -> None:
        await self._write(
            "a retry",
            lambda: self.store.ledger.retry_later(
                row.id, not_before=when, error=error, now=self.clock()
            ),
        )

    async def _retry_or_fail(self, row: Claimed, error: str, progress: Progress) -> None:
        if row.attempts >= self.settings.max_attempts:
            await self._write(
                "a failed row", lambda: self.store.ledger.mark_failed(row.id, error, self.clock())
            )
            progress.failed += 1
            return
        waits = self.settings.backoff_seconds
        wait = waits[min(row.attempts - 1, len(waits) - 1)]
        await self._retry_at(row, self.clock() + dt.timedelta(seconds=wait), error)


class _SentMarks:
    """Marks sent rows in groups: one transaction for every send that ended meanwhile.

    A group commit with no timer: while one transaction runs, the sends that end queue
    their rows, and the next transaction takes them all, so a busy engine writes many rows
    per commit and an idle one writes each row at once.
    """

    def __init__(
        self,
        write: Callable[[str, Callable[[], Awaitable[object]]], Awaitable[None]],
        store: Store,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._write = write
        self._store = store
        self._clock = clock
        self._pending: list[int] = []
        self._flushes = 0
        self._lock = asyncio.Lock()

    async def mark(self, row_id: int) -> None:
        """Mark the row sent; returns once the ledger says so."""
        self._pending.append(row_id)
        flushes = self._flushes
        async with self._lock:
            if self._flushes > flushes:
                return  # a transaction that began after the append took this row along
            ids, self._pending = self._pending, []
            self._flushes += 1
            await self._write(
                f"{len(ids)} sent row(s)", lambda: self._store.ledger.mark_sent(ids, self._clock())
            )
