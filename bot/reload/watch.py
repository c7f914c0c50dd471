"""The reloads nobody types: the schedule file polled for a new version, and SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any

from bot.reload.fingerprint import Fingerprint, fingerprint
from bot.reload.reloader import Reloader, ReloadResult

log = logging.getLogger(__name__)


class ScheduleWatcher:
    """Reloads the schedule when its file changes (polled) and on SIGHUP."""

    def __init__(self, reloader: Reloader, *, interval: float = 2.0) -> None:
        self.reloader = reloader
        self.interval = interval  # seconds between two looks at the file
        self._pending: Fingerprint = None
        # When the file was last looked at (the metrics' last source poll); None: never.
        self.last_poll: dt.datetime | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._previous_sighup: Callable[[int, FrameType | None], Any] | int | None = None
        self._sighup_installed = False

    # --- the file watcher ----------------------------------------------------------------

    async def check(self) -> ReloadResult | None:
        """One look at the file: reload a new version once it reads the same twice in a row.

        Editors may write a file in several steps; waiting one more look means a half-written
        file is not reported to the organizers as broken.
        """
        path = self.reloader.schedule_path
        if path is None:
            return None
        self.last_poll = self.reloader.clock()
        current = fingerprint(path)
        if current == self.reloader.seen:
            self._pending = None
            return None
        if current != self._pending:
            self._pending = current
            return None
        self._pending = None
        return await self.reloader.reload(path, actor="file-watcher")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                log.exception("checking %s for changes failed", self.reloader.schedule_path)

    def start(self) -> None:
        """Watch the schedule file (when the worker has one) and reload on SIGHUP."""
        self.start_watching()
        self.install_sighup()

    def start_watching(self) -> None:
        """Look at the schedule file every `interval` seconds; nothing without a file."""
        path = self.reloader.schedule_path
        if path is None or self._watcher is not None:
            return
        if self.reloader.seen is None:
            self.reloader.seen = fingerprint(path)
        self._watcher = asyncio.create_task(self._watch(), name="schedule-watcher")

    async def stop(self) -> None:
        """Stop watching; a reload under way is given a moment to finish."""
        self.remove_sighup()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5)
            for task in late:
                task.cancel()

    # --- SIGHUP ----------------------------------------------------------------------------

    def install_sighup(self) -> bool:
        """Reload on SIGHUP; False where the loop cannot take signals (Windows, other thread)."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None or self._sighup_installed:
            return False
        try:
            previous = signal.getsignal(sighup)
            asyncio.get_running_loop().add_signal_handler(sighup, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            log.info("no SIGHUP reload here: %s", exc)
            return False
        self._previous_sighup = previous
        self._sighup_installed = True
        return True

    def remove_sighup(self) -> None:
        """Give SIGHUP back to whatever handled it before."""
        sighup = getattr(signal, "SIGHUP", None)
        if sighup is None or not self._sighup_installed:
            return
        with contextlib.suppress(RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(sighup)
            if self._previous_sighup is not None:
                signal.signal(sighup, self._previous_sighup)
        self._sighup_installed = False

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the schedule")
        self._spawn(self.reloader.reload(actor="SIGHUP"))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work, name="schedule-reload")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("reloading the schedule failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait for reloads started by a signal (tests use this)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
