"""Figures that read every subscriber or every ledger row of a fan-out, computed at most once
a few seconds and shared by every request meanwhile.

With 100,000 subscribers one count is a scan of them all (about 0.1 s on SQLite): organizers
with several tabs, and the overview polling its live figures every two seconds, would
otherwise run the same scans again and again. A figure is at most its `ttl` old.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final, TypeVar, cast

from aiohttp import web

T = TypeVar("T")
log = logging.getLogger(__name__)

LIVE_SECONDS: Final = 1.0  # a fan-out's counts: the overview polls every 2 s
AUDIENCE_SECONDS: Final = 10.0  # who the subscribers are changes slowly


class Figures:
    """A memo of computed figures by key, each fresh for its `ttl` seconds (monotonic time:
    this is about load, not about the event's clock).

    A stale figure is served once more while it is computed again in the background, so
    that no request waits for a scan but the very first of its key (or the first after
    `forget()`).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._memo: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._refreshing: dict[str, asyncio.Task[Any]] = {}

    async def get(
        self,
        key: str,
        ttl: float,
        compute: Callable[[], Awaitable[T]],
        *,
        stale_ok: bool = True,
    ) -> T:
        """The figure under `key`: the memo while fresh; when stale, the memo again while a
        background task computes it anew (unless not `stale_ok`: a page that must be
        current waits); when absent, `compute()` (once, however many requests ask at the
        same moment)."""
        found = self._memo.get(key)
        if found is not None and not stale_ok and found[0] <= self._monotonic():
            del self._memo[key]
            found = None
        if found is not None:
            if found[0] <= self._monotonic() and key not in self._refreshing:
                task = asyncio.create_task(self._compute(key, ttl, compute))
                self._refreshing[key] = task
                task.add_done_callback(partial(self._refreshed, key))
            return cast(T, found[1])
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self._memo.get(key)
            if found is not None and found[0] > self._monotonic():  # the request waited for
                return cast(T, found[1])
            return await self._compute(key, ttl, compute)

    async def _compute(self, key: str, ttl: float, compute: Callable[[], Awaitable[T]]) -> T:
        value = await compute()
        self._memo[key] = (self._monotonic() + ttl, value)
        if len(self._memo) > 256:  # keys name audiences and broadcasts: keep it small
            self._prune()
        return value

    def _refreshed(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._refreshing.get(key) is task:
            del self._refreshing[key]
        if not task.cancelled() and task.exception() is not None:
            # The stale figure stays; the next request past its time tries again.
            log.error("computing the dashboard figure %s failed", key, exc_info=task.exception())

    def forget(self) -> None:
        """Drop every figure (after an action that changes them: a confirm, a reload)."""
        self._memo.clear()
        for task in self._refreshing.values():
            task.cancel()

    def _prune(self) -> None:
        now = self._monotonic()
        for key, (expires, _) in list(self._memo.items()):
            if expires <= now:
                del self._memo[key]
                self._locks.pop(key, None)


FIGURES = web.AppKey("dashboard_figures", Figures)


def figures(request: web.Request) -> Figures:
    """The dashboard's memo of figures."""
    return request.app[FIGURES]
