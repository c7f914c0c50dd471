"""Discord's global limit kept before a request leaves, not learnt from a 429 after it.

Discord takes at most 50 requests a second from a bot, across every route (interaction
answers aside). discord.py follows each route's bucket from its X-RateLimit-* headers, but it
meets the global limit only by a 429, which then stalls every request of the bot; and a
reminder to a new viewer costs two requests (the DM channel opened, then the message), so
pacing messages alone cannot keep the requests under it. `RequestWindow` is given to the
client's HTTP session as an aiohttp trace: each REST request waits for room in the window
before it is sent, and only the requests themselves count (discord.py's retries too, a
request asleep in a route's bucket not).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

# Interaction answers and follow-ups are not bound to the bot's global limit.
_EXEMPT = ("/interactions/", "/webhooks/")


class RequestWindow:
    """At most `per_second` requests in any second, first come first served.

    A request counts from the moment it is let go until its answer is in, and then as if
    sent at that moment: Discord stamps it somewhere in between, so no second of Discord's
    can see more than the limit, however the network delays a request.
    """

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = max(1, per_second)
        self.clock = clock
        self._ends: deque[float] = deque()  # when the answers of the last second came in
        self._open = 0  # requests sent whose answer is not in yet
        self._lock = asyncio.Lock()
        self._ended = asyncio.Event()

    def delay(self, now: float) -> float:
        """Seconds until one more request fits: 0 now, inf until an open one ends."""
        ends = self._ends
        while ends and now - ends[0] >= 1.0:
            ends.popleft()
        excess = len(ends) + self._open + 1 - self.per_second
        if excess <= 0:
            return 0.0
        if excess > len(ends):
            return math.inf
        return ends[excess - 1] + 1.0 - now

    async def acquire(self) -> None:
        """Wait until one more request fits, then count it as open."""
        async with self._lock:  # one waiter at a time keeps the order and the window strict
            while (wait := self.delay(self.clock())) > 0:
                if math.isinf(wait):
                    await self._ended.wait()
                else:
                    await asyncio.sleep(wait)
            self._open += 1

    def release(self) -> None:
        """An open request got its answer (or failed): it counts as of now."""
        self._open -= 1
        self._ends.append(self.clock())
        ended, self._ended = self._ended, asyncio.Event()
        ended.set()

    def trace(self, api_base_url: str) -> aiohttp.TraceConfig:
        """An aiohttp trace that holds every request to `api_base_url` to the window."""
        base = api_base_url.rstrip("/") + "/"

        async def start(
            session: aiohttp.ClientSession,
            ctx: SimpleNamespace,
            params: aiohttp.TraceRequestStartParams,
        ) -> None:
            """Before a request is sent: wait for room, unless it is exempt."""
            url = str(params.url)
            if not url.startswith(base) or any(part in url for part in _EXEMPT):
                return
            await self.acquire()
            ctx.counted = True

        async def done(
            session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object
        ) -> None:
            """The answer is in, or the request failed: it counts as of now."""
            if getattr(ctx, "counted", False):
                ctx.counted = False
                self.release()

        config = aiohttp.TraceConfig()
        config.on_request_start.append(start)
        config.on_request_end.append(done)
        config.on_request_exception.append(done)
        return config
