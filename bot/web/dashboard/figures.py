"""Figures that read every subscriber or every ledger row of a fan-out, computed at most once
a few seconds and shared by every request meanwhile.

With 100,000 subscribers one count is a scan of them all (about 0.1 s on SQLite): organizers
with several tabs, and the overview polling its live figures every two seconds, would
otherwise run the same scans again and again. A figure is at most its `ttl` old.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar, cast

from aiohttp import web

T = TypeVar("T")

LIVE_SECONDS: Final = 1.0  # a fan-out's counts: the overview polls every 2 s
AUDIENCE_SECONDS: Final = 10.0  # who the subscribers are changes slowly


class Figures:
    """A memo of computed figures by key, each good for its `ttl` seconds (monotonic time:
    this is about load, not about the event's clock)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._memo: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, ttl: float, compute: Callable[[], Awaitable[T]]) -> T:
        """The figure under `key`: the memo while fresh, else `compute()` (once, however many
        requests ask at the same moment)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self._memo.get(key)
            now = self._monotonic()
            if found is not None and found[0] > now:
                return cast(T, found[1])
            value = await compute()
            self._memo[key] = (self._monotonic() + ttl, value)
            if len(self._memo) > 256:  # keys name audiences and broadcasts: keep it small
                self._prune()
            return value

    def forget(self) -> None:
        """Drop every figure (after an action that changes them: a confirm, a reload)."""
        self._memo.clear()

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
