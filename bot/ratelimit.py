"""Sliding-window pacing for one platform: overall, per chat and per group."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from bot.adapters.base import Limits


class SlidingWindow:
    """At most `count` events in any window of `seconds` (a strict sliding window).

    A token bucket lets a full bucket plus the refill through in the first second, which is
    how python-telegram-bot's limiter ends up near 60 in one window; a window of recorded
    send times cannot.
    """

    def __init__(self, count: int, seconds: float) -> None:
        self.count = max(1, count)
        self.seconds = seconds
        self._times: deque[float] = deque()

    def delay(self, now: float) -> float:
        """How long to wait before one more event fits; 0 if it fits now."""
        while self._times and now - self._times[0] >= self.seconds:
            self._times.popleft()
        if len(self._times) < self.count:
            return 0.0
        return self._times[0] + self.seconds - now

    def record(self, now: float) -> None:
        """Count one event at `now`."""
        self._times.append(now)


class PlatformPacer:
    """Decides when the next message to a chat may go, within a platform's limits."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.overall = SlidingWindow(int(limits.per_second), 1.0)
        self._chats: dict[str, SlidingWindow] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """The platform said "retry after": nothing goes out until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _chat_window(self, chat_id: str, group: bool) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if group:
                window = SlidingWindow(int(self.limits.per_group_per_minute), 60.0)
            else:
                window = SlidingWindow(max(1, int(self.limits.per_chat_per_second)), 1.0)
            self._chats[chat_id] = window
        return window

    async def acquire(self, chat_id: str, *, group: bool) -> None:
        """Wait until one message to `chat_id` fits every limit, then count it."""
        async with self._lock:  # one waiter at a time keeps the window strict
            chat = self._chat_window(chat_id, group)
            while True:
                now = self.clock()
                wait = max(self._paused_until - now, self.overall.delay(now), chat.delay(now))
                if wait <= 0:
                    self.overall.record(now)
                    chat.record(now)
                    return
                await asyncio.sleep(wait)

    def forget_idle(self) -> None:
        """Drop per-chat windows with nothing in them, so memory stays flat."""
        now = self.clock()
        for chat_id in [c for c, w in self._chats.items() if w.delay(now) == 0 and not w._times]:
            del self._chats[chat_id]
