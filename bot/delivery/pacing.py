"""Sliding-window pacing for one platform: overall, per chat and per group."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

from bot.adapters.base import Limits

# A fan-out is spread over the second in slices of about this long, each of the rate's share
# of it, at least one message (see PlatformPacer.spread).
SPREAD_SECONDS = 0.1
# Per-chat windows are dropped once idle, checked every this many new windows.
_PRUNE_EVERY = 1024


class SlidingWindow:
    """At most `count` events in any window of `seconds` (a strict sliding window).

    A token bucket lets a full bucket plus the refill through in the first second, which is
    how python-telegram-bot's limiter ends up near 60 in one window; a window of recorded
    send times cannot.

    An event that takes time (an HTTP call) counts from its start until it ends and then as
    if it happened when it ended: the platform stamps it at its arrival, somewhere in between,
    so the window holds on the platform's clock too, whatever the network's jitter.
    """

    def __init__(self, count: int, seconds: float) -> None:
        self.count = max(1, count)
        self.seconds = seconds
        self._times: deque[float] = deque()  # ends of past events, oldest first
        self.open = 0  # events begun and not ended yet
        self.waiting = 0  # callers waiting to begin one (the window must not be dropped)

    def delay(self, now: float, weight: int = 1) -> float:
        """How long to wait before `weight` more events fit: 0 if they fit now, inf if only
        the end of an event still in progress can make room."""
        times = self._times
        while times and now - times[0] >= self.seconds:
            times.popleft()
        excess = len(times) + self.open + min(weight, self.count) - self.count
        if excess <= 0:
            return 0.0
        if excess > len(times):
            return math.inf
        return times[excess - 1] + self.seconds - now

    def begin(self, weight: int = 1) -> None:
        """`weight` events start: they count from now until `end`."""
        self.open += min(weight, self.count)

    def end(self, now: float, weight: int = 1) -> None:
        """Events begun earlier end at `now`; from then on they count as of `now`."""
        weight = min(weight, self.count)
        self.open -= weight
        self._times.extend([now] * weight)

    def idle(self, now: float) -> bool:
        """Whether nothing in the window counts any more."""
        return not self.open and not self.waiting and self.delay(now) == 0 and not self._times


class PlatformPacer:
    """Decides when the next message to a chat may go, within a platform's limits."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.overall = SlidingWindow(int(limits.per_second), 1.0)
        # Fan-out messages only: at most a slice's worth in any slice (100 messages a tenth of
        # a second at 1,000/s, three at 30/s). The strict window alone lets a whole second's
        # messages out in one burst, and then keeps that phase second after second; a reply to
        # a command would wait for the burst to age out (half a second on average). Spread,
        # a reply takes the next place. Slices rather than one message at a time: the sends of
        # a slice end together and their ledger marks go in one commit; slices of 20 ms
        # measured 0.88 of the limit at 1,000/s (a timer's overshoot per slice), 0.1 s 0.99
        # (once the garbage collector's pauses were gone: `bot.app.GC_THRESHOLDS`).
        rate = max(limits.per_second, 1e-9)
        spread = max(1, math.ceil(rate * SPREAD_SECONDS))
        self.spread = SlidingWindow(spread, spread / rate)
        self._chats: dict[str, SlidingWindow] = {}
        self._created = 0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._ended = asyncio.Event()
        self._replies = 0  # replies to commands waiting for room: they go first
        self._replies_changed = asyncio.Event()

    def pause(self, seconds: float) -> None:
        """The platform said "retry after": nothing goes out until then."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def _chat_window(self, chat_id: str, group: bool) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            self._created += 1
            if self._created % _PRUNE_EVERY == 0:
                self.forget_idle()
            if group:
                window = SlidingWindow(int(self.limits.per_group_per_minute), 60.0)
            else:
                window = SlidingWindow(max(1, int(self.limits.per_chat_per_second)), 1.0)
            self._chats[chat_id] = window
        return window

    async def _wait(self, seconds: float) -> None:
        """Sleep `seconds`, or until a send in progress ends when `seconds` is infinite."""
        if math.isinf(seconds):
            await self._ended.wait()
        else:
            await asyncio.sleep(seconds)

    def _fits(self, chat: SlidingWindow, now: float, parts: int, reply: bool) -> bool:
        return (
            self._paused_until <= now
            and self.overall.delay(now, parts) <= 0
            and chat.delay(now, parts) <= 0
            and (reply or self.spread.delay(now, parts) <= 0)
        )

    def _begin(self, chat: SlidingWindow, parts: int, reply: bool) -> None:
        self.overall.begin(parts)
        chat.begin(parts)
        if not reply:
            # Counted from its start: the spread is this worker's own smoothing, not a
            # platform's limit that must hold on the platform's clock as well.
            self.spread.begin(parts)
            self.spread.end(self.clock(), parts)

    async def _admit(self, chat: SlidingWindow, parts: int, *, reply: bool = False) -> None:
        """Wait until `parts` more messages fit the chat's and the platform's windows; begin.

        A reply to a command goes before fan-out messages still waiting: a viewer who asks
        while 3,000 reminders go out is answered at the next free place in the platform's
        window, not after the queue (the fan-out loses a few hundredths of a second).
        """
        if (
            not self._lock.locked()
            and (reply or not self._replies)
            and self._fits(chat, self.clock(), parts, reply)
        ):
            # Nobody waits and it fits: no await between the check and `begin`, so the
            # windows stay strict without taking the lock.
            self._begin(chat, parts, reply)
            return
        # The chat's own window first, without the lock: a chat that must wait (a busy
        # group, 20 a minute) does not hold up messages to every other chat meanwhile.
        while (wait := chat.delay(self.clock(), parts)) > 0:
            await self._wait(wait)
        while True:
            if not reply:
                while self._replies:  # replies first
                    await self._replies_changed.wait()
            async with self._lock:  # one waiter at a time keeps the overall window strict
                while reply or not self._replies:
                    now = self.clock()
                    wait = max(
                        self._paused_until - now,
                        self.overall.delay(now, parts),
                        chat.delay(now, parts),
                        0.0 if reply else self.spread.delay(now, parts),
                    )
                    if wait <= 0:
                        self._begin(chat, parts, reply)
                        return
                    await self._wait(wait)
                # A reply came while this fan-out message waited: let it have the lock.

    async def _admit_counted(self, chat: SlidingWindow, parts: int, reply: bool) -> None:
        chat.waiting += 1
        if reply:
            self._replies += 1
        try:
            await self._admit(chat, parts, reply=reply)
        finally:
            chat.waiting -= 1
            if reply:
                self._replies -= 1
                changed, self._replies_changed = self._replies_changed, asyncio.Event()
                changed.set()

    def _end(self, chat: SlidingWindow, parts: int) -> None:
        now = self.clock()
        self.overall.end(now, parts)
        chat.end(now, parts)
        ended, self._ended = self._ended, asyncio.Event()
        ended.set()

    def sending(self, chat_id: str, *, group: bool, parts: int = 1) -> _Sending:
        """`async with` it: wait until a message to `chat_id` fits every limit, then hold it
        as in flight for the block. A long text the platform gets as `parts` messages counts
        as that many (capped at a window's size, which lets it through as one burst).

        The message counts from the start of the block until its end and then as sent at
        the end: the platform's arrival stamp lies in between, so no window of its own can
        see more than the limit however the network delays a request.
        """
        return _Sending(self, self._chat_window(chat_id, group), parts, reply=False)

    def replying(self, chat_id: str, *, group: bool) -> _Sending:
        """`async with` it around one message answering a command in `chat_id`: it waits
        for room in the chat's window and the platform's overall one, and counts in both, so
        that replies and a fan-out together keep to every limit (a viewer who types three
        commands in a second gets the third answer a second or two later, never a 429)."""
        return _Sending(self, self._chat_window(chat_id, group), 1, reply=True)

    def forget_idle(self) -> None:
        """Drop per-chat windows with nothing in them, so memory stays flat."""
        now = self.clock()
        for chat_id in [c for c, w in self._chats.items() if w.idle(now)]:
            del self._chats[chat_id]


class _Sending:
    """The context of one message in flight (a class: cheaper than a generator per send)."""

    __slots__ = ("_chat", "_pacer", "_parts", "_reply")

    def __init__(
        self, pacer: PlatformPacer, chat: SlidingWindow, parts: int, *, reply: bool
    ) -> None:
        self._pacer = pacer
        self._chat = chat
        self._parts = parts
        self._reply = reply

    async def __aenter__(self) -> None:
        await self._pacer._admit_counted(self._chat, self._parts, self._reply)

    async def __aexit__(self, *exc_info: object) -> None:
        self._pacer._end(self._chat, self._parts)
