"""A schedule at a URL kept in step: fetched every few minutes, reloaded when it changed.

A fetched schedule goes through the reloader like an edited file does: the same diff, the same
notices, the same recorded versions. A source that fails keeps the schedule in force; the
organizers hear of it once per outage, with the reason, and once when it recovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.i18n import languages, t
from bot.i18n.formatting import format_duration
from bot.reload.fetch import FetchError, UrlFetcher, shown_url
from bot.reload.reloader import WORKER, Reloader, ReloadResult
from bot.schedule import Problem, Schedule, parse_source
from bot.schedule.sources import find_overlay

log = logging.getLogger(__name__)

# Parses fetched bytes (the format is read from the content) for the source named.
Parse = Callable[[bytes, str], Schedule]


def parse_fetched(data: bytes, origin: str, overlay_path: str | None = None) -> Schedule:
    """A fetched schedule, its format read from its content, with the overlay named (read
    anew each time, so that an edited overlay counts at the next change)."""
    overlay = find_overlay("", overlay_path) if overlay_path else None
    return parse_source(data, origin=origin, overlay=overlay)


# A source that keeps failing is asked less often, doubling up to this many poll intervals.
MAX_BACKOFF_INTERVALS = 6


class PollOutcome(StrEnum):
    """What one poll found."""

    UNCHANGED = "unchanged"  # 304, or the same content again
    RELOADED = "reloaded"  # new content, put in force (or found to change nothing)
    INVALID = "invalid"  # new content with errors: the schedule in force stays
    FAILED = "failed"  # the source could not be read: the schedule in force stays


@dataclass(frozen=True)
class SourceStatus:
    """The source as operators and organizers see it: where, when last asked, how it went."""

    url: str  # as shown: without a query that may hold a token
    last_poll: dt.datetime | None
    last_success: dt.datetime | None
    outcome: PollOutcome | None
    error: str | None  # why the last poll failed; None after a good one
    failing_since: dt.datetime | None


class SourcePoller:
    """Fetches one URL source on a timer and hands new content to the reloader."""

    def __init__(
        self,
        reloader: Reloader,
        fetcher: UrlFetcher,
        parse: Parse,
        clock: Callable[[], dt.datetime],
        *,
        interval: float,
    ) -> None:
        self.reloader = reloader
        self.fetcher = fetcher
        self.parse = parse
        self.clock = clock
        self.interval = interval  # seconds between two polls while the source answers
        # The content last read (sha-256): a 200 with the same bytes is no change either. The
        # fetch at start made the schedule in force.
        self.digest = fetcher.digest
        self.failures = 0  # polls failed in a row
        self._failing_since: dt.datetime | None = None
        self._last_poll: dt.datetime | None = None
        self._last_success: dt.datetime | None = None
        self._outcome: PollOutcome | None = None
        self._error: str | None = None
        self._invalid: str | None = None  # what is wrong with the content last read, if it is
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def where(self) -> str:
        """The source's URL as logs and messages show it."""
        return shown_url(self.fetcher.url)

    def status(self) -> SourceStatus:
        """The source's state, for /readyz, /metrics and the dashboard."""
        return SourceStatus(
            self.where,
            self._last_poll,
            self._last_success,
            self._outcome,
            self._error,
            self._failing_since,
        )

    async def poll(self) -> PollOutcome:
        """Ask the source once; reload what changed; tell the organizers of an outage."""
        outcome, _ = await self._poll(actor="source-poller", platform=WORKER, force=False)
        return outcome

    async def reload_now(self, *, actor: str, platform: str = WORKER) -> ReloadResult:
        """Fetch the whole source now and reload it, whatever its validators say (/reload)."""
        outcome, result = await self._poll(actor=actor, platform=platform, force=True)
        if result is None:  # the source could not be read: the reason, as a reload error
            reason = self._error or outcome.value
            result = ReloadResult(self.where, (Problem(self.where, 0, "schedule", reason),))
        return result

    async def _poll(
        self, *, actor: str, platform: str, force: bool
    ) -> tuple[PollOutcome, ReloadResult | None]:
        async with self._lock:  # the timer and a /reload at once: one request at a time
            now = self.clock()
            self._last_poll = now
            try:
                fetched = await self.fetcher.fetch(conditional=not force)
            except FetchError as exc:
                return await self._failed(exc.reason, now), None
            result = None
            if not force and (fetched.unchanged or fetched.digest == self.digest):
                if self._invalid is not None:  # the same broken content: still broken
                    return self._note(PollOutcome.INVALID, now, self._invalid), None
                outcome = PollOutcome.UNCHANGED
            else:
                assert fetched.body is not None
                # Bad content is reported once per version by the reloader; polling the same
                # bytes again is no news, and a fixed file is.
                self.digest = fetched.digest
                result = await self.reloader.reload_content(
                    fetched.body, self.where, self.parse, actor=actor, platform=platform, now=now
                )
                if not result.ok:
                    self._invalid = _problems(result)
                    if self._failing_since is None:
                        self._failing_since = now  # a recovery is worth telling after this too
                    return self._note(PollOutcome.INVALID, now, self._invalid), result
                self._invalid = None
                outcome = PollOutcome.RELOADED
            await self._recovered(now)
            return self._note(outcome, now, None), result

    def _note(self, outcome: PollOutcome, now: dt.datetime, error: str | None) -> PollOutcome:
        self._outcome, self._error = outcome, error
        if outcome in (PollOutcome.UNCHANGED, PollOutcome.RELOADED):
            self._last_success = now
        return outcome

    async def _failed(self, reason: str, now: dt.datetime) -> PollOutcome:
        self.failures += 1
        log.warning(
            "schedule source %s failed (%d in a row): %s; the schedule in force stays",
            self.where,
            self.failures,
            reason,
        )
        if self._failing_since is None:
            self._failing_since = now
            texts = {
                lang: t("source.failing", lang, source=self.where, reason=reason)
                for lang in languages()
            }
            await self.reloader.tell_organizers(texts, self._outage_key("down"), now)
        return self._note(PollOutcome.FAILED, now, reason)

    async def _recovered(self, now: dt.datetime) -> None:
        self.failures = 0
        if self._failing_since is None:
            return
        texts = {
            lang: t(
                "source.recovered",
                lang,
                source=self.where,
                duration=format_duration(now - self._failing_since, lang),
            )
            for lang in languages()
        }
        await self.reloader.tell_organizers(texts, self._outage_key("up"), now)
        log.info("schedule source %s answers again", self.where)
        self._failing_since = None

    def _outage_key(self, edge: str) -> str:
        # One message per outage and edge, even when the worker restarts during it.
        assert self._failing_since is not None
        return f"schedule-source-{edge}:{self._failing_since.isoformat()}"

    def delay(self) -> float:
        """Seconds until the next poll: the interval, longer while the source keeps failing."""
        if self.failures <= 1:
            return self.interval
        return self.interval * min(2.0 ** (self.failures - 1), MAX_BACKOFF_INTERVALS)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.delay())
            try:
                await self.poll()
            except Exception:  # the worker never stops for its schedule source
                log.exception("polling %s failed", self.where)

    def start(self) -> None:
        """Poll on a timer in the background (the first fetch happened at start)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="schedule-source-poller")

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _problems(result: ReloadResult) -> str:
    first = result.problems[0] if result.problems else None
    more = f" (+{len(result.problems) - 1} more)" if len(result.problems) > 1 else ""
    return f"{first}{more}" if first else "invalid"
