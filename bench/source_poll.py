"""The `poll` section: what a poll of a schedule URL costs when nothing changed.

A worker on a temporary SQLite database polls a local HTTP source that answers with `ETag`.
Measured: requests per unchanged poll (goal 1, conditional, answered 304), re-plans it caused
(goal 0), and its median time, against the baseline of fetching and reloading the same
content in full each time (what a poller without validators would do).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.common import ROOT, median
from bot.app import Worker, open_store
from bot.config import Settings
from bot.reload import PollOutcome, UrlFetcher, parse_fetched, shown_url

GOAL_REQUESTS = 1
GOAL_REPLANS = 0


async def poll_cost(polls: int) -> dict[str, Any]:
    """Poll an unchanged source `polls` times, then reload it in full as often; the figures."""
    body = (ROOT / "schedule.yaml").read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    answers: list[int] = []

    async def serve(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            answers.append(304)
            return web.Response(status=304, headers={"ETag": etag})
        answers.append(200)
        return web.Response(body=body, headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/schedule.yaml", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/schedule.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(), data_dir=tmp, database_url=f"sqlite:///{Path(tmp)}/b.db")
        store = await open_store(settings)
        fetcher = UrlFetcher(url)
        first = await fetcher.fetch()
        assert first.body is not None
        schedule = parse_fetched(first.body, shown_url(url))
        worker = Worker(settings, schedule, store, [], schedule_fetcher=fetcher)
        await worker.start(background=False)
        replans = 0
        replan = worker.scheduler.replan

        async def counted() -> None:
            nonlocal replans
            replans += 1
            await replan()

        worker.scheduler.replan = counted  # type: ignore[method-assign]
        poller = worker.poller
        assert poller is not None
        try:
            answers.clear()
            quiet: list[float] = []
            for _ in range(polls):
                started = time.perf_counter()
                outcome = await poller.poll()
                quiet.append(time.perf_counter() - started)
                assert outcome == PollOutcome.UNCHANGED, outcome
            conditional = {"requests": len(answers), "not_modified": answers.count(304)}
            quiet_replans = replans
            full: list[float] = []
            for _ in range(polls):
                started = time.perf_counter()
                await worker.reload(actor="bench")  # fetched whole and reloaded
                full.append(time.perf_counter() - started)
        finally:
            await worker.stop()
            await store.close()
            await runner.cleanup()
    return {
        "polls": polls,
        "requests_per_poll": conditional["requests"] / polls,
        "not_modified": conditional["not_modified"],
        "replans": quiet_replans,
        "median_ms": median(quiet) * 1000,
        "full_reload_median_ms": median(full) * 1000,
    }


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str, bool | None]]:
    """(figure, goal, measured, baseline, met) rows for the report table."""
    ratio = figures["full_reload_median_ms"] / max(figures["median_ms"], 1e-6)
    return [
        (
            "requests per unchanged poll",
            f"{GOAL_REQUESTS} (conditional, 304)",
            f"{figures['requests_per_poll']:.2f} ({figures['not_modified']} × 304)",
            "",
            figures["requests_per_poll"] == GOAL_REQUESTS
            and figures["not_modified"] == figures["polls"],
        ),
        (
            "re-plans after unchanged polls",
            str(GOAL_REPLANS),
            str(figures["replans"]),
            "",
            figures["replans"] == GOAL_REPLANS,
        ),
        (
            "unchanged poll, median",
            "informational",
            f"{figures['median_ms']:.1f} ms",
            f"full fetch + reload {figures['full_reload_median_ms']:.1f} ms ({ratio:.0f}×)",
            None,
        ),
    ]
