"""Wiring: settings → store → scheduler → delivery → adapters, run until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Final, Protocol

from bot.adapters.base import Adapter, Core, MenuEntry, StartFailed
from bot.broadcasts import Broadcasts
from bot.changes import render_notice_row
from bot.clock import utcnow
from bot.commands import CommandContext, Commands, OrganizerCommands
from bot.config import Settings
from bot.constants import ALL_SESSIONS, EVERY_LANGUAGE, ChatKind, DeliveryKind
from bot.delivery import DeliveryEngine, DeliveryObserver, Renderer
from bot.delivery.pruning import LedgerPruner
from bot.i18n import languages, t
from bot.messages import Command, Reply
from bot.reload import (
    Reloader,
    ReloadResult,
    ScheduleTransform,
    ScheduleWatcher,
    SourcePoller,
    SourceStatus,
    UrlFetcher,
    parse_fetched,
)
from bot.reminder_progress import ReminderProgress
from bot.schedule import Schedule
from bot.scheduler import ReminderScheduler
from bot.store import Store, WorkerLock, normalize_database_url
from bot.store.worker_lock import CONFIRM_EVERY

log = logging.getLogger(__name__)


# Seconds between attempts to start a platform that could not be reached: five tries over
# about a minute, then the worker gives up and says why (a supervisor may restart it).
START_RETRY_DELAYS: Final[tuple[float, ...]] = (2.0, 5.0, 10.0, 15.0, 30.0)


async def start_with_retries(
    adapter: Adapter, core: Core, delays: Sequence[float] | None = None
) -> None:
    """Start `adapter`, trying again after each delay while its failure may pass."""
    waits = START_RETRY_DELAYS if delays is None else delays
    for attempt in range(len(waits) + 1):
        try:
            await adapter.start(core)
            return
        except StartFailed as failed:
            if not failed.transient or attempt == len(waits):
                raise
            log.warning(
                "%s; retrying in %g s (attempt %d of %d)",
                failed,
                waits[attempt],
                attempt + 2,
                len(waits) + 1,
            )
            await asyncio.sleep(waits[attempt])


class WebFace(Protocol):
    """The worker's web server (bot/web/server.py), as the worker starts and stops it.

    The worker never imports the web face (which reads the worker): the command line builds
    one and hands it in.
    """

    # Told of every delivery (the metrics); the worker's engine reports to it.
    observer: DeliveryObserver
    # The address links point to, once it listens (None: not listening).
    public_url: str | None

    async def start(self, worker: Worker) -> None:
        """Listen; raises StartFailed when it cannot and the web face is required."""

    async def stop(self) -> None:
        """Stop listening."""


class Worker:
    """The running bot: one store, one scheduler, one delivery engine, many adapters."""

    def __init__(
        self,
        settings: Settings,
        schedule: Schedule,
        store: Store,
        adapters: Sequence[Adapter],
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        schedule_path: str | Path | None = None,
        schedule_transform: ScheduleTransform | None = None,
        schedule_fetcher: UrlFetcher | None = None,
        start_delays: Sequence[float] | None = None,
        web: WebFace | None = None,
        lock: WorkerLock | None = None,
    ) -> None:
        self.settings = settings
        self.web = web  # health, metrics, the public page and feeds (None: no web server)
        self.lock = lock  # the database's worker lock, when this worker took one
        self.schedule = schedule
        # The file reloads read (None: no watching); a reload applies the same transform
        # as the start did (`--rehearse` passes bot.reload.shift_by(delta)).
        self.schedule_path = Path(schedule_path) if schedule_path is not None else None
        self.schedule_transform = schedule_transform
        self.store = store
        self.adapters = {a.platform: a for a in adapters}
        self.clock = clock
        self.broadcasts = Broadcasts(store, settings)
        self.reloader = Reloader(
            self,
            store,
            settings,
            clock,
            # Late-bound: the engine is built next, with the notices' renderer from here.
            lambda: self.delivery.wake(),
            path=self.schedule_path,
            transform=schedule_transform,
        )
        self.watcher = ScheduleWatcher(self.reloader)
        # A schedule at a URL (pretalx, Sessionize, a calendar feed), fetched at start by
        # whoever built this worker: polled from here on.
        self.poller = (
            SourcePoller(
                self.reloader,
                schedule_fetcher,
                partial(parse_fetched, overlay_path=settings.schedule_overlay or None),
                clock,
                interval=settings.schedule_poll_minutes * 60.0,
            )
            if schedule_fetcher is not None
            else None
        )
        renderer = Renderer(
            lambda: self.schedule,
            {
                DeliveryKind.BROADCAST: self.broadcasts.render_row,
                DeliveryKind.NOTICE: partial(render_notice_row, removed=self.reloader.removed),
            },
        )
        self.delivery = DeliveryEngine(
            store,
            self.adapters,
            renderer,
            settings.delivery,
            clock,
            idle_hooks=(self._finish_broadcasts,),
            observer=web.observer if web is not None else None,
            # With a database shared by a standby: no send without a fresh lease on the lock.
            fence=lock.until_fresh if lock is not None else None,
        )
        self.scheduler = ReminderScheduler(
            store, settings.reminders, lambda: self.schedule, clock, self.delivery.wake
        )
        context = CommandContext(
            store,
            settings,
            lambda: self.schedule,
            clock,
            self.request_replan,
            public_url=lambda: self.web.public_url if self.web is not None else None,
        )
        organizer = OrganizerCommands(
            context,
            self.broadcasts,
            wake=self.delivery.wake,
            next_jobs=self.scheduler.next_jobs,
            reload=self.reload,
        )
        self.commands = Commands(context, organizer)
        self._replan_wanted = asyncio.Event()
        self._replanner: asyncio.Task[None] | None = None
        self.pruner = LedgerPruner(store, settings.delivery.keep_days, clock)
        self.reminder_progress = ReminderProgress(store, settings, clock, self.delivery.wake)
        self._pruning: list[asyncio.Task[None]] = []
        self._accepting = False
        self.started = asyncio.Event()  # set once commands are taken
        # Seconds between attempts to start a platform that could not be reached (None: the
        # START_RETRY_DELAYS above); tests pass milliseconds.
        self.start_delays = start_delays
        self.failures: list[str] = []  # why a platform could not go on, one line each
        self.halted = asyncio.Event()  # set by platform_failed: the worker must stop

    async def _finish_broadcasts(self) -> None:
        """Broadcasts whose every row is final are done: queue their authors' reports."""
        if await self.broadcasts.finish_done(now=self.clock()):
            self.delivery.wake()

    async def request_replan(self) -> None:
        """A viewer's settings changed: re-plan soon, coalescing bursts of changes."""
        self._replan_wanted.set()

    async def settle(self) -> None:
        """Run a requested re-plan now (tests use this instead of waiting)."""
        if self._replan_wanted.is_set():
            self._replan_wanted.clear()
            await self.scheduler.replan()

    async def _replan_loop(self) -> None:
        # When asked, and at the latest every `replan_seconds`: a reminder whose job was
        # missed for any reason is due and not marked fired, so the re-plan fires it.
        every = self.settings.reminders.replan_seconds
        while True:
            try:
                await asyncio.wait_for(self._replan_wanted.wait(), timeout=every)
            except TimeoutError:
                pass  # nobody asked: the periodic re-plan
            else:
                await asyncio.sleep(0.2)  # coalesce a burst of /subscribe into one re-plan
            self._replan_wanted.clear()
            try:
                await self.scheduler.replan()
            except Exception:
                log.exception("re-planning reminders failed; trying again within %.0f s", every)

    async def on_command(self, command: Command) -> Reply | None:
        """Pass a command to the core, unless the worker is stopping."""
        if not self._accepting:
            return None
        return await self.commands.handle(command)

    async def _enrol_announcement_channels(self) -> None:
        """Channels named in config get every reminder, in every event language."""
        channels = self.settings.announcement_channels
        now = self.clock()
        for platform, ids in (("telegram", channels.telegram), ("discord", channels.discord)):
            if platform not in self.adapters:
                continue
            for chat_id in ids:
                chat, _ = await self.store.chats.get_or_create(
                    platform, chat_id, kind=ChatKind.CHANNEL, language=EVERY_LANGUAGE, now=now
                )
                if chat.language != EVERY_LANGUAGE:
                    await self.store.chats.update(chat.pk, language=EVERY_LANGUAGE, now=now)
                await self.store.chats.subscribe(chat.pk, ALL_SESSIONS, now=now)

    async def replace_schedule(self, schedule: Schedule) -> None:
        """Put a new schedule in force: re-plan reminders, tell the platforms."""
        self.schedule = schedule
        await self.scheduler.replan()
        for adapter in self.adapters.values():
            changed = getattr(adapter, "schedule_changed", None)
            if changed is None:
                continue
            try:
                await changed(schedule)
            except Exception:
                log.exception(
                    "the %s adapter failed to follow the schedule change", adapter.platform
                )

    async def reload(
        self,
        path: str | Path | None = None,
        *,
        actor: str,
        platform: str = "worker",
        now: dt.datetime | None = None,
    ) -> ReloadResult:
        """Reload the schedule (its file, or its URL fetched anew): in force and announced, or
        kept out with its errors."""
        if path is None and self.poller is not None:
            return await self.poller.reload_now(actor=actor, platform=platform)
        return await self.reloader.reload(path, actor=actor, platform=platform, now=now)

    def source_status(self) -> SourceStatus | None:
        """The URL source's last poll and its outcome; None for a schedule read from a file."""
        return self.poller.status() if self.poller is not None else None

    async def on_chat_status(self, platform: str, chat_id: str, status: str) -> None:
        """Record whether a chat can be reached; a blocked chat gets nothing until it is back."""
        chat = await self.store.chats.get(platform, chat_id)
        if chat is not None and chat.status != status:
            await self.store.chats.update(chat.pk, now=self.clock(), status=status)
            log.info("%s chat is now %s", platform, status)
            await self.request_replan()

    async def on_chat_migrated(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """A group became a supergroup: its subscriptions and settings move with it."""
        await self.store.chats.migrate(platform, old_chat_id, new_chat_id, now=self.clock())

    async def on_location(self, command: Command, latitude: float, longitude: float) -> Reply:
        """Set the chat's zone from a shared location, and say which zone it is."""
        return await self.commands.set_zone_from_location(command, latitude, longitude)

    def command_menu(self, lang: str) -> list[MenuEntry]:
        """The commands and their short descriptions, for platform menus."""
        menu = [MenuEntry(name, t(f"menu.{name}", lang)) for name in self.commands.names]
        menu += [
            MenuEntry(name, t(f"organizer_help.{name}", lang), organizer=True)
            for name in self.commands.organizer_names
        ]
        return menu

    def languages(self) -> tuple[str, ...]:
        """The languages the bot speaks."""
        return languages()

    def current_schedule(self) -> Schedule:
        """The schedule in force."""
        return self.schedule

    async def recall(self, platform: str, kind: str, key: str) -> str | None:
        """A value an adapter stored earlier."""
        return await self.store.refs.get(platform, kind, key)

    async def recall_all(self, platform: str, kind: str) -> dict[str, str]:
        """Every value of one kind an adapter stored."""
        return await self.store.refs.all(platform, kind)

    async def remember(self, platform: str, kind: str, key: str, value: str) -> None:
        """Store a value for an adapter, across restarts."""
        await self.store.refs.set(platform, kind, key, value, now=self.clock())

    async def forget(self, platform: str, kind: str, key: str) -> None:
        """Drop a value an adapter stored."""
        await self.store.refs.delete(platform, kind, key)

    def reply_slot(
        self, platform: str, chat_id: str, *, group: bool = False
    ) -> AbstractAsyncContextManager[None]:
        """A place for one reply in the chat's rate and the platform's overall one, both
        shared with the fan-out."""
        pacer = self.delivery.pacers.get(platform)
        if pacer is None:
            return contextlib.nullcontext()
        return pacer.replying(chat_id, group=group)

    def deep_links(self, payload: str) -> dict[str, str]:
        """Links that open the bot on each platform that offers one, by platform name.

        Telegram: `t.me/<bot>?start=<payload>` (known once the bot is connected); an
        adapter without such a link (Discord: its invite, whatever the payload) is left out
        or gives what it has.
        """
        links: dict[str, str] = {}
        for name, adapter in self.adapters.items():
            link = getattr(adapter, "deep_link", None)
            url = link(payload) if link is not None else None
            if url:
                links[name] = url
        return links

    def platforms_connected(self) -> dict[str, bool]:
        """Whether each platform is connected (an adapter that cannot tell: once started)."""
        running = self.started.is_set() and self._accepting
        states: dict[str, bool] = {}
        for name, adapter in self.adapters.items():
            connected = getattr(adapter, "connected", None)
            states[name] = running and (connected() if connected is not None else True)
        return states

    def platform_failed(self, platform: str, reason: str) -> None:
        """A platform cannot go on: say why in one line, and have the worker stop."""
        # A worker that stays up without its platform answers nobody, and no supervisor
        # would restart it: stopping with an error is what gets a person to look.
        log.error("%s: %s", platform, reason)
        self.failures.append(f"{platform}: {reason}")
        self.halted.set()

    async def start(self, *, background: bool = True) -> None:
        """Connect the platforms and take commands, then catch up and start sending.

        Without `background`, no job runs and no loop drains: a test then drives time itself
        with `scheduler.run_due(now)` and `delivery.drain_once(platform)`.
        """
        if self.web is not None:
            # First: /healthz answers, and /readyz says what is still missing, while the
            # platforms connect (retries can take a minute).
            await self.web.start(self)
        await self._enrol_announcement_channels()
        # Platforms first: a send must not reach an adapter that is not connected yet.
        self._accepting = True
        for adapter in self.adapters.values():
            await start_with_retries(adapter, self, self.start_delays)
        # Edits made to the schedule while the worker was down are news too.
        await self.reloader.catch_up()
        if background:
            await self.delivery.start()
            await self.scheduler.start()
            self._replanner = asyncio.create_task(self._replan_loop(), name="replan")
            self._pruning.append(asyncio.create_task(self.pruner.run(), name="prune-ledger"))
            if self.settings.reminders.report_progress:
                self._pruning.append(
                    asyncio.create_task(self.reminder_progress.run(), name="reminder-progress")
                )
            self.watcher.start()  # the file watcher and SIGHUP
            if self.poller is not None:
                self.poller.start()
        else:
            await self.store.ledger.requeue_inflight(now=self.clock())
            await self.scheduler.replan()
        self.started.set()

    async def stop(self) -> None:
        """Stop taking commands and jobs, let in-flight sends finish, then disconnect."""
        self._accepting = False
        await self.watcher.stop()  # before the scheduler: a reload re-plans
        if self.poller is not None:
            await self.poller.stop()
        self.scheduler.shutdown()
        if self._replanner is not None:
            self._replanner.cancel()
        for task in self._pruning:  # the ledger's upkeep: pruning, progress reports
            task.cancel()
        # Sends in flight need their platform: the adapters stop last.
        await self.delivery.stop()
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform)
        if self.web is not None:
            await self.web.stop()


async def open_store(settings: Settings) -> Store:
    """The store the settings name (DATABASE_URL or the embedded SQLite file)."""
    url = normalize_database_url(settings.database_url, Path(settings.data_dir))
    return await Store.open(url)


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (what Procfile runners and Ctrl-C send)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)


# The garbage collector's thresholds in a running worker (CPython's: 700, 10, 10). Sending a
# message allocates a few hundred objects that live for milliseconds (a request, its answer,
# a task); at the default, a collection runs every few messages, promotes those still in flight
# to the oldest generation, and soon sets off a full collection of the whole heap (CLDR data,
# zone names, the schedule: 160-210 ms, several times a minute at 1,000 messages a second), in
# which nothing goes out. With a first generation this large, most die before any collection
# sees them: the paid-broadcast fan-out went from 0.975 to 0.990 of the limit (BENCHMARKS.md,
# section 12).
GC_THRESHOLDS: Final = (20_000, 20, 20)


def tune_garbage_collector() -> None:
    """Set the collector's thresholds for a long-running worker (`GC_THRESHOLDS`)."""
    gc.set_threshold(*GC_THRESHOLDS)


async def run_until_stopped(
    worker: Worker, stop: asyncio.Event, *, lock: WorkerLock | None = None
) -> None:
    """Start the worker, wait for SIGTERM/SIGINT or `stop`, then stop within seconds.

    With `lock` (held), the worker also stops if another worker took the lock from it; it
    stops too when a platform cannot go on (`worker.failures` says why). A start that fails
    raises (StartFailed) after stopping what had started.
    """
    stop_on_signals(stop)
    watchdog = asyncio.create_task(_watch(lock, stop)) if lock is not None else None
    # A signal or a failed platform ends the wait, during a start (its retries) as after it.
    ending = asyncio.create_task(_first_of(stop, worker.halted), name="stop-or-halt")
    starting = asyncio.create_task(worker.start(), name="worker-start")
    try:
        await asyncio.wait({starting, ending}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # re-raises a failed start
            log.info("worker running with %s", ", ".join(worker.adapters))
            await ending
    finally:
        for task in (starting, ending, watchdog):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        log.info("stopping")
        await worker.stop()


async def _first_of(*events: asyncio.Event) -> None:
    """Return once any of `events` is set."""
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def _watch(lock: WorkerLock, stop: asyncio.Event, interval: float = CONFIRM_EVERY) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if not stop.is_set() and not await lock.still_held():
            log.error("another worker took this database over: stopping, to send nothing twice")
            stop.set()
