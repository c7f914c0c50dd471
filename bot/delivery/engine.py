"""The delivery engine: one drain loop per platform (claim, render, pace, send, record, retry)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Final

from bot.adapters.base import (
    Adapter,
    Blocked,
    Limits,
    Migrated,
    Recipient,
    Rejected,
    RetryAfter,
    SendError,
    Transient,
    parts_of,
)
from bot.config import Delivery as DeliverySettings
from bot.constants import ChatKind, DeliveryKind
from bot.delivery.bundling import bundles, digest
from bot.delivery.observer import DeliveryObserver
from bot.delivery.pacing import PlatformPacer
from bot.delivery.progress import LEFT_EVERY, Progress
from bot.delivery.recording import SentMarks, record_outcome
from bot.delivery.rendering import RenderCache, Renderer
from bot.errors import brief
from bot.messages import Expired, Message
from bot.planner import is_quiet
from bot.render import reader_of
from bot.store import Claimed, Store

log = logging.getLogger(__name__)

# Run whenever a platform's queue runs dry (e.g. to report finished broadcasts).
IdleHook = Callable[[], Awaitable[None]]


# Waits after consecutive failed batches (seconds; the last repeats): soon after a blip, then
# every few seconds while the database stays away.
FAILURE_WAITS: Final[tuple[float, ...]] = (1.0, 2.0, 5.0)


# Awaited before each send; returns when this worker may send.
Fence = Callable[[], Awaitable[None]]

# delivery.in_flight 0: this many seconds of the platform's rate in flight (a round trip to
# Telegram or Discord), within these bounds. At 1,000 messages a second, 8 sends in flight
# (the old fixed default) allowed 8 / round trip: the rate was set by the window, not the
# platform, and each sent mark's commit held up to 8 rows, so that every message paid for a
# fraction of a commit it could have shared.
IN_FLIGHT_SECONDS: Final = 0.1
IN_FLIGHT_BOUNDS: Final = (8, 100)


def in_flight_for(setting: int, limits: Limits) -> int:
    """Sends in flight at once on a platform: `setting`, or (0) a tenth of a second of the
    platform's overall rate, between 8 and 100."""
    if setting:
        return setting
    low, high = IN_FLIGHT_BOUNDS
    return min(high, max(low, math.ceil(limits.per_second * IN_FLIGHT_SECONDS)))


class DeliveryEngine:
    """One drain loop per platform; the ledger, not memory, says what is left to send."""

    def __init__(
        self,
        store: Store,
        adapters: dict[str, Adapter],
        renderer: Renderer,
        settings: DeliverySettings,
        clock: Callable[[], dt.datetime],
        *,
        idle_hooks: Sequence[IdleHook] = (),
        failure_waits: Sequence[float] = FAILURE_WAITS,
        observer: DeliveryObserver | None = None,
        fence: Fence | None = None,
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
        self.idle_hooks = tuple(idle_hooks)
        # Seconds before another try after consecutive failures (the last repeats).
        self.failure_waits = tuple(failure_waits)
        # Told of each outcome, send time and lateness (the web face's metrics).
        self.observer = observer or DeliveryObserver()
        # Awaited before every send: returns once this worker may send (its lease on the
        # database's worker lock is fresh); None: always.
        self.fence = fence

    def wake(self, platform: str | None = None) -> None:
        """New rows may be due: look at the ledger now rather than at the next poll."""
        self.store.ledger.expect_parts()
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
        failures = 0  # consecutive failed batches: the database restarting, say
        while not self._stopping:
            try:
                worked = await self.drain_once(platform)
            except Exception as exc:
                failures += 1
                wait = self.failure_waits[min(failures, len(self.failure_waits)) - 1]
                self._log_failure(platform, exc, failures, wait)
                await self._wait(platform, wait)
                continue
            if failures:
                log.info("delivery on %s works again after %d failed tries", platform, failures)
                failures = 0
            if worked:
                continue
            wait = idle_poll
            try:
                await self.run_idle_hooks()
                upcoming = await self.store.ledger.next_due(platform)
                if upcoming is not None:
                    wait = min(wait, max((upcoming - self.clock()).total_seconds(), 0.05))
            except Exception:
                log.exception("looking for due deliveries on %s failed", platform)
                wait = self.failure_waits[0]
            await self._wait(platform, wait)

    async def _wait(self, platform: str, seconds: float) -> None:
        """Sleep until `seconds` have passed or new rows are announced."""
        event = self._wake[platform]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
        event.clear()

    @staticmethod
    def _log_failure(platform: str, exc: Exception, failures: int, wait: float) -> None:
        """The first failure with its traceback; the ones that follow in one line each, so
        a long outage does not bury the log (the SQL and its parameters never shown)."""
        if failures == 1:
            log.exception("delivery on %s failed; trying again in %g s", platform, wait)
            return
        log.warning(
            "delivery on %s still failing (%s: %s); try %d in %g s",
            platform,
            type(exc).__name__,
            brief(exc),
            failures + 1,
            wait,
        )

    async def run_idle_hooks(self) -> None:
        """Run the hooks that follow a drained queue; a failing hook is logged, not fatal."""
        for hook in self.idle_hooks:
            try:
                await hook()
            except Exception:
                log.exception("an idle hook of the delivery engine failed")

    async def _report(self, platform: str) -> None:
        """Once a platform's queue runs dry: what its fan-out did, and what still waits.

        Every row queued is accounted for: settled here, still pending on this platform (a
        retry, quiet hours), or pending for a platform this worker does not run at all.
        """
        progress = self.progress[platform]
        self.progress[platform] = Progress()
        if not progress.touched:
            return
        pending = await self.store.ledger.pending_by_platform()
        elsewhere = {p: n for p, n in sorted(pending.items()) if p not in self.adapters}
        line = f"{progress.line()}; {pending.get(platform, 0)} still pending on {platform}"
        if elsewhere:
            named = ", ".join(f"{p} {n}" for p, n in elsewhere.items())
            line += (
                f", {sum(elsewhere.values())} pending for platforms this worker does not run "
                f"({named})"
            )
        log.info("%s fan-out finished: %s", platform, line)

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
            await self._report(platform)
            return 0
        if len(rows) >= self.settings.batch:
            # A chat's other reminders of the same minute, wherever the batch limit fell. A
            # batch below the limit took every row due: nothing is left to claim alongside,
            # so the common case (one reminder a chat) costs no second write per batch.
            try:
                rows += await self.store.ledger.claim_alongside(rows, now=self.clock())
            except Exception:
                self._unsure.add(platform)
                raise
        # A row holds its slot until its outcome is in the ledger, so that at most
        # `in_flight` rows can have been sent without the ledger knowing (the duplicates a
        # crash can cause), however the marking is batched.
        slots = asyncio.Semaphore(
            in_flight_for(self.settings.in_flight, self.adapters[platform].limits)
        )
        sent = SentMarks(self.store, self.clock)
        cache: RenderCache = {}

        async def one(bundle: list[Claimed]) -> None:
            async with slots:
                await self._deliver(platform, bundle, sent, cache)

        # Every send finishes before an error is raised: the batch must be over when the
        # next one starts (see the requeue above).
        outcomes = await asyncio.gather(
            *(one(bundle) for bundle in bundles(rows)), return_exceptions=True
        )
        errors = [e for e in outcomes if isinstance(e, BaseException)]
        if errors:
            self._unsure.add(platform)
            raise errors[0]
        return len(rows)

    async def _render(
        self, rows: list[Claimed], cache: RenderCache
    ) -> tuple[list[Claimed], Message] | None:
        """The message for a bundle of rows (one row, or a chat's reminders of one minute,
        listed in one message); rows that expired are settled here. None: nothing to send."""
        progress = self.progress[rows[0].chat.platform]
        live: list[tuple[Claimed, Message]] = []
        for row in rows:
            try:
                rendered = await self.renderer.render_shared(row, self.clock(), cache)
            except Exception as exc:  # e.g. a broadcast's text could not be read: try later
                log.warning("rendering delivery %d failed: %s", row.id, exc)
                await self._retry_or_fail(row, f"{type(exc).__name__}: {exc}", progress)
                continue
            if isinstance(rendered, Expired):
                await record_outcome(
                    "an expired row",
                    partial(
                        self._now_call, self.store.ledger.mark_expired, row.id, rendered.reason
                    ),
                )
                progress.expired += 1
                self.observer.outcome(row.chat.platform, "expired")
                continue
            live.append((row, rendered))
        if not live:
            return None
        if len(live) == 1:
            return [live[0][0]], live[0][1]
        schedule = self.renderer.schedule()
        items = [(schedule.session(row.session_id or ""), message) for row, message in live]
        lang = reader_of(live[0][0].chat, schedule).lang
        return [row for row, _ in live], digest(items, lang, self.clock())

    async def _deliver(
        self,
        platform: str,
        bundle: list[Claimed],
        sent: SentMarks,
        cache: RenderCache,
    ) -> None:
        adapter = self.adapters[platform]
        progress = self.progress[platform]
        found = await self._render(bundle, cache)
        if found is None:
            return
        rows, rendered = found
        # One message, one outcome for every row it carries.
        row = rows[0]
        chat = row.chat
        if chat.quiet is not None:
            # What reaches a reader in their quiet hours (a notice, a broadcast, a late
            # reminder) arrives without a sound: in time, but nobody is woken.
            zone = chat.timezone or self.renderer.schedule().event.timezone
            if is_quiet(self.clock(), zone, chat.quiet):
                rendered = replace(rendered, silent=True)
        recipient = Recipient(chat.chat_id, chat.kind, chat.user_id)
        pacer = self.pacers[platform]
        if self.fence is not None:
            await self.fence()
        try:
            parts = parts_of(rendered, adapter.limits)
            group = recipient.kind != ChatKind.PRIVATE
            async with pacer.sending(recipient.chat_id, group=group, parts=parts):
                began = time.perf_counter()
                try:
                    await adapter.send(recipient, rendered, key=str(row.id))
                finally:
                    self.observer.send_took(platform, time.perf_counter() - began)
        except Migrated as exc:
            new_id = exc.new_chat_id
            await record_outcome(
                "a migrated chat",
                lambda: self.store.chats.migrate(
                    platform, row.chat.chat_id, new_id, now=self.clock()
                ),
            )
            for each in rows:
                await self._retry_at(each, self.clock(), str(exc))
            return
        except RetryAfter as exc:
            pacer.pause(exc.seconds)
            self.observer.flood_wait(platform, exc.seconds)
            when = self.clock() + dt.timedelta(seconds=exc.seconds)
            for each in rows:
                await self._retry_at(each, when, str(exc))
            return
        except Blocked as exc:
            error = str(exc) or "blocked"
            for each_id in (each.id for each in rows):
                await record_outcome(
                    "a blocked chat",
                    partial(self._now_call, self.store.ledger.mark_blocked, each_id, error),
                )
                progress.blocked += 1
                self.observer.outcome(platform, "blocked")
            return
        except Rejected as exc:
            error = str(exc)
            for each_id in (each.id for each in rows):
                await record_outcome(
                    "a rejected row",
                    partial(self._now_call, self.store.ledger.mark_failed, each_id, error),
                )
                progress.failed += 1
                self.observer.outcome(platform, "failed")
            return
        except (Transient, SendError, OSError, TimeoutError) as exc:
            for each in rows:
                await self._retry_or_fail(each, f"{type(exc).__name__}: {exc}", progress)
            return
        except Exception as exc:  # an adapter bug must not lose the row: record and retry
            log.exception("unexpected error sending delivery %d on %s", row.id, platform)
            for each in rows:
                await self._retry_or_fail(each, f"{type(exc).__name__}: {exc}", progress)
            return
        await sent.mark(*(each.id for each in rows))
        progress.sent += len(rows)
        for each in rows:
            self.observer.outcome(platform, "sent")
            if each.kind == DeliveryKind.REMINDER:
                late = (self.clock() - each.due_at).total_seconds()
                self.observer.reminder_late(platform, max(late, 0.0))
        every = self.settings.progress_every
        if every and progress.sent % every == 0:
            await self._log_progress(platform, progress)

    async def _log_progress(self, platform: str, progress: Progress) -> None:
        """The progress line, with the rate and the time left at it."""
        if progress.left is None or time.monotonic() - progress.left_at > LEFT_EVERY:
            try:
                progress.count_left(await self.store.ledger.pending_count(platform))
            except Exception as exc:  # the line goes out without its estimate
                log.debug("counting what is left on %s failed: %s", platform, brief(exc))
        log.info("%s fan-out in progress: %s", platform, progress.line(progress.left_now()))

    async def _now_call(
        self, mark: Callable[[int, str, dt.datetime], Awaitable[None]], row_id: int, why: str
    ) -> None:
        """A settling call of the ledger for one row, stamped when it runs (each retry too)."""
        await mark(row_id, why, self.clock())

    async def _retry_at(self, row: Claimed, when: dt.datetime, error: str) -> None:
        self.progress[row.chat.platform].retried += 1
        self.observer.outcome(row.chat.platform, "retried")
        await record_outcome(
            "a retry",
            lambda: self.store.ledger.retry_later(
                row.id, not_before=when, error=error, now=self.clock()
            ),
        )

    async def _retry_or_fail(self, row: Claimed, error: str, progress: Progress) -> None:
        if row.attempts >= self.settings.max_attempts:
            await record_outcome(
                "a failed row", lambda: self.store.ledger.mark_failed(row.id, error, self.clock())
            )
            progress.failed += 1
            self.observer.outcome(row.chat.platform, "failed")
            return
        waits = self.settings.backoff_seconds
        wait = waits[min(row.attempts - 1, len(waits) - 1)]
        await self._retry_at(row, self.clock() + dt.timedelta(seconds=wait), error)
