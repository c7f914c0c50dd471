"""The fake Bot API as a platform for drills and benchmarks: restartable, and runnable apart.

`RestartableFake` is the tests' `FakeTelegram` that can go down and come back on the same
port (a platform outage). Run as `python -m tests.drills.fake_platform`, it serves one in its
own process (so that its CPU is not the worker's) and prints one JSON line with its ports;
a small control API on the second port lets another process set limits and read arrivals:

    POST /reset                               forget every request and failure rule
    POST /rate_limit {"per_second": 30}       flood control (null: off)
    POST /storm {"times": N, "retry_after": S}  the next N sendMessage calls get 429
    POST /block {"chat_ids": [...]}           403 "blocked by the user" for these chats
    POST /down {"seconds": S}                 refuse connections for S seconds
    GET  /stats                               sendMessage arrivals: [[time, status, chat_id]]

Arrival times are wall-clock (`time.time`), comparable across processes on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
import time
from typing import Any

from aiohttp import web

from tests.fakes.telegram import ApiError, FakeTelegram


class RestartableFake(FakeTelegram):
    """A FakeTelegram that can stop serving and serve again on the same port."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("clock", time.time)
        super().__init__(*args, **kwargs)
        self.outages = 0

    async def outage(self, seconds: float) -> None:
        """Go down (connections refused, calls in progress cut) for `seconds`, then come back."""
        self.outages += 1
        await self.stop()
        await asyncio.sleep(seconds)  # the outage itself: a drill's fixed duration
        await self.start()

    def reset(self) -> None:
        """Forget what was sent and every failure rule (the bot's identity stays)."""
        self.sent.clear()
        self._by_method.clear()
        self._by_method_chat.clear()
        self._outbox.clear()
        self._popped.clear()
        self._messages.clear()
        self._fail_rules.clear()
        self._blocked.clear()
        self._rate = None
        self.too_many_requests = 0

    def arrivals(self, method: str = "sendMessage") -> list[tuple[float, int, int | str | None]]:
        """(arrival time, HTTP status, chat id) of every call of `method`, in arrival order."""
        return [(r.time, r.status, r.chat_id) for r in self._by_method.get(method, ())]

    def block_many(self, chat_ids: list[int]) -> None:
        """Every send to these chats answers 403 "bot was blocked by the user"."""
        for chat_id in chat_ids:
            self.block(chat_id)

    def storm(self, times: int, retry_after: int) -> None:
        """The next `times` sendMessage calls answer 429 with this retry_after."""
        self.fail_next("sendMessage", times=times, error=ApiError.too_many_requests(retry_after))


def control_app(fake: RestartableFake) -> web.Application:
    """The control API of a fake served in its own process."""
    outages: set[asyncio.Task[None]] = set()

    async def body(request: web.Request) -> dict[str, Any]:
        data = await request.json() if request.body_exists else {}
        return data if isinstance(data, dict) else {}

    async def reset(request: web.Request) -> web.Response:
        fake.reset()
        gc.unfreeze()  # the records just forgotten may be collected again
        return web.json_response({"ok": True})

    async def rate_limit(request: web.Request) -> web.Response:
        fake.rate_limit((await body(request)).get("per_second"))
        return web.json_response({"ok": True})

    async def storm(request: web.Request) -> web.Response:
        data = await body(request)
        fake.storm(int(data["times"]), int(data["retry_after"]))
        return web.json_response({"ok": True})

    async def block(request: web.Request) -> web.Response:
        fake.block_many([int(c) for c in (await body(request))["chat_ids"]])
        return web.json_response({"ok": True})

    async def down(request: web.Request) -> web.Response:
        task = asyncio.create_task(fake.outage(float((await body(request))["seconds"])))
        outages.add(task)
        task.add_done_callback(outages.discard)
        return web.json_response({"ok": True})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {"sends": fake.arrivals(), "too_many_requests": fake.too_many_requests}
        )

    app = web.Application()
    app.router.add_post("/reset", reset)
    app.router.add_post("/rate_limit", rate_limit)
    app.router.add_post("/storm", storm)
    app.router.add_post("/block", block)
    app.router.add_post("/down", down)
    app.router.add_get("/stats", stats)
    return app


async def serve() -> None:
    """Serve a fake and its control API until SIGTERM/SIGINT or stdin closes."""
    fake = RestartableFake()
    await fake.start()
    runner = web.AppRunner(control_app(fake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control = runner.addresses[0][1]
    print(json.dumps({"api": fake.port, "control": control, "token": fake.token}), flush=True)
    stop = asyncio.Event()
    freezing = asyncio.create_task(_freeze_records())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    await stop.wait()
    freezing.cancel()
    await runner.cleanup()
    await fake.stop()


async def _freeze_records(every: float = 1.0) -> None:
    """Keep what the fake has recorded out of the garbage collector's passes.

    The fake keeps every request with its parameters and its answer, dozens of objects each;
    at 1,000 requests a second, full collections over them stalled the fake for 0.1-0.3 s
    every few seconds, growing with the run, and a benchmark read the gaps as the worker's.
    Telegram does not pause so; frozen, the records are never scanned again.
    """
    while True:
        await asyncio.sleep(every)
        gc.freeze()


def main() -> None:
    """Command line entry: serve until told to stop."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
