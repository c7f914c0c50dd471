"""The measured side of each benchmark, one process per run: `python -m bench.worker 'JSON'`.

The JSON names the scenario and its arguments; the last stdout line is the result, as JSON.
Scenarios: `engine` (the worker fans one reminder out through the real Telegram adapter),
`naive` (python-telegram-bot `send_message` over the subscribers with `asyncio.gather`),
`scale` (start-up, memory at rest, command latency and one reminder's ledger rows), `flood`
(one chat floods, how long others wait for their answer), `timezone` (`/timezone` latency in
every catalog language), `dashboard` (each dashboard page's latency over the seeded
subscribers, a broadcast to all of them going out).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, ClassVar

from bench.common import (
    UTC,
    peak_rss_mb,
    percentile,
    rss_mb,
    run_scenario,
    seed_subscribers,
    summit_at,
    warmed_up,
)
from bot.adapters.base import Limits
from bot.app import Worker
from bot.config import Delivery, Reminders, Settings, TelegramConfig
from bot.store import Store

log = logging.getLogger("bench")
FINAL = frozenset({"sent", "blocked", "failed", "expired"})


def _settings(args: dict[str, Any]) -> Settings:
    delivery = replace(
        Delivery(),
        in_flight=int(args.get("in_flight", Delivery().in_flight)),
        batch=int(args.get("batch", Delivery().batch)),
        progress_every=0,
    )
    return replace(
        Settings(),
        reminders=replace(Reminders(), default_offsets=(0,)),
        delivery=delivery,
        telegram=replace(TelegramConfig(), poll_timeout=10, **_rate(args)),
    )


def _rate(args: dict[str, Any]) -> dict[str, int]:
    """The overall limit as an operator sets it (1000: Telegram's paid broadcasts)."""
    if "messages_per_second" not in {f.name for f in fields(TelegramConfig)}:
        return {}  # the code before that setting (--before): the adapter class carries it
    return {"messages_per_second": int(args.get("per_second", 30))}


def _db_url(args: dict[str, Any]) -> str:
    url = args.get("db_url")
    if url:
        return str(url)
    path = Path(tempfile.mkdtemp(prefix="summit-bench-")) / "bench.sqlite3"
    return f"sqlite+aiosqlite:///{path}"


async def _wait_final(store: Store, count: int, within: float) -> dict[str, int]:
    """Poll the ledger until `count` rows are final (a benchmark, not a test: polling is fine)."""
    deadline = time.monotonic() + within
    while True:
        counts = await store.ledger.delivery_counts()
        if sum(n for status, n in counts.items() if status in FINAL) >= count:
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"ledger not drained in {within} s: {counts}")
        await asyncio.sleep(0.25)


async def engine(args: dict[str, Any]) -> dict[str, Any]:
    """One reminder to `count` subscribers, through the worker and the real Telegram adapter."""
    from bot.adapters.telegram import TelegramAdapter

    count = int(args["count"])

    class Adapter(TelegramAdapter):
        """Telegram at the run's overall limit (for code from before the setting existed)."""

        limits = replace(TelegramAdapter.limits, per_second=float(args.get("per_second", 30)))

    class NullAdapter:
        """A platform that takes every message at once: the engine's own cost, alone."""

        platform: ClassVar[str] = "telegram"
        limits: ClassVar[Limits] = Adapter.limits

        async def start(self, core: Any) -> None:
            """Nothing to connect."""

        async def stop(self) -> None:
            """Nothing to release."""

        async def send(self, to: Any, message: Any, *, key: str) -> None:
            """Take the message."""
            await asyncio.sleep(0)

    settings = _settings(args)
    store = await Store.open(_db_url(args))
    await seed_subscribers(store, "telegram", count, first_chat_id=1)
    warmed_up()
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=float(args.get("lead", 4.0)))
    env = {"TELEGRAM_BOT_TOKEN": args["token"], "TELEGRAM_API_BASE_URL": args["api_root"]}
    if args.get("adapter") == "null":
        adapter: Any = NullAdapter()
    else:
        adapter = Adapter.from_env(env, settings)
    worker = Worker(settings, summit_at(due), store, [adapter])
    took = _send_times(worker)
    profiler = None
    if args.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    await worker.start()
    ready = time.time()
    cpu0 = time.process_time()
    if profiler is not None:
        profiler.enable()
    counts = await _wait_final(store, count, within=float(args.get("timeout", 600)))
    done = time.time()
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args["profile"]))
    await worker.stop()
    await store.close()
    return {
        "due": due.timestamp(),
        "ready": ready,
        "done": done,
        "cpu": cpu,
        "counts": counts,
        "sent": counts.get("sent", 0),
        "lost": count - counts.get("sent", 0),
        # Send to answer, as the engine saw it: a message counts in the strict window until
        # its answer, so this is what each of the window's places costs beyond its second.
        "send_ms": {
            "p50": percentile(took, 50) * 1000,
            "p99": percentile(took, 99) * 1000,
            "mean": sum(took) / max(len(took), 1) * 1000,
        },
    }


def _send_times(worker: Worker) -> list[float]:
    """Each send's duration as the engine reports it, from now on (none from code before
    the engine had an observer: `--before`)."""
    seconds: list[float] = []
    try:
        from bot.delivery.observer import DeliveryObserver
    except ImportError:
        return seconds

    class Keep(DeliveryObserver):
        def send_took(self, platform: str, took: float) -> None:
            """Keep it."""
            seconds.append(took)

    worker.delivery.observer = Keep()
    return seconds


async def naive(args: dict[str, Any]) -> dict[str, Any]:
    """python-telegram-bot's documented way: `gather` over `send_message`, optionally paced
    by its AIORateLimiter with the defaults (30/s overall, 20/min per group, no retries)."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.constants import ParseMode
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    from bot.adapters.telegram import NO_PREVIEW, render_html
    from bot.render import Reader, render_reminder

    count = int(args["count"])
    due = dt.datetime.now(UTC) + dt.timedelta(seconds=float(args.get("lead", 4.0)))
    schedule = summit_at(due)
    message = render_reminder(schedule, schedule.sessions[0], Reader("en", "Asia/Taipei"), due)
    assert message is not None
    text = render_html(message, 4096)[0]
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(x.label, url=x.url)] for x in message.links]
    )
    builder = (
        ApplicationBuilder()
        .token(args["token"])
        .base_url(f"{args['api_root']}/bot")
        .job_queue(None)
        .updater(None)
    )
    if args.get("limiter"):
        # PTB's defaults (30/s overall), or the paid-broadcast rate the run names.
        rate = float(args.get("limiter_rate", 30))
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=rate))
    app = builder.build()
    await app.initialize()
    ready = time.time()
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()))  # the job fires at `due`
    cpu0 = time.process_time()
    sends = [
        asyncio.ensure_future(
            app.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        )
        for chat_id in range(1, count + 1)
    ]
    # The gather, with a deadline: without a limiter, httpx's pool can spin for minutes
    # with thousands of requests queued; what is unsent by then counts as lost. Past the
    # deadline the loop may be too busy spinning to even cancel (30,000 queued at 1,000/s
    # kept it at 100% CPU for 12 minutes): a thread then reports what was sent and ends the
    # process.
    deadline = float(args.get("deadline", 300))
    ok = [0]
    for task in sends:
        task.add_done_callback(
            lambda t: ok.__setitem__(0, ok[0] + (not t.cancelled() and t.exception() is None))
        )

    def give_up() -> None:
        result = {
            "due": due.timestamp(),
            "ready": ready,
            "done": time.time(),
            "cpu": time.process_time() - cpu0,
            "errors": {"unsent: the process spun past its deadline": count - ok[0]},
            "sent": ok[0],
            "lost": count - ok[0],
        }
        print(json.dumps(result), flush=True)
        os._exit(0)

    watchdog = threading.Timer(deadline + 30, give_up)
    watchdog.daemon = True
    watchdog.start()
    finished, unfinished = await asyncio.wait(sends, timeout=deadline)
    for task in unfinished:
        task.cancel()
    done = time.time()
    cpu = time.process_time() - cpu0
    await asyncio.gather(*unfinished, return_exceptions=True)
    await app.shutdown()
    watchdog.cancel()
    errors: dict[str, int] = {}
    if unfinished:
        errors["unsent at the deadline"] = len(unfinished)
    for task in finished:
        error = task.exception()
        if error is not None:
            name = type(error).__name__
            errors[name] = errors.get(name, 0) + 1
    sent = count - sum(errors.values())
    return {
        "due": due.timestamp(),
        "ready": ready,
        "done": done,
        "cpu": cpu,
        "errors": errors,
        "sent": sent,
        "lost": count - sent,
    }


async def seed(args: dict[str, Any]) -> dict[str, Any]:
    """Migrate the database and add `count` subscribers of session 1 on the memory platform."""
    started = time.perf_counter()
    store = await Store.open(args["db_url"])
    await seed_subscribers(store, "memory", int(args["count"]), first_chat_id=1)
    await store.close()
    return {"seconds": time.perf_counter() - started}


async def scale(args: dict[str, Any]) -> dict[str, Any]:
    """A worker on a database of many subscribers: start-up, memory, latency, ledger writes."""
    from bot.adapters.memory import MemoryAdapter

    spawned = float(args["spawned"])
    count = int(args["count"])
    settings = replace(Settings(), reminders=Reminders())  # the default offsets
    store = await Store.open(args["db_url"])
    memory = MemoryAdapter()
    start = dt.datetime.now(UTC) + dt.timedelta(days=2)  # nothing due while measuring
    worker = Worker(settings, summit_at(start), store, [memory])
    await worker.start()
    startup = time.time() - spawned
    # At rest: every start-up task has run, nothing is due; what an idle worker holds.
    await asyncio.sleep(2.0)
    gc.collect()
    at_rest = rss_mb()

    latencies: dict[str, list[float]] = {"schedule": [], "subscribe": []}
    first: dict[str, float] = {}
    rounds = int(args.get("commands", 300))
    for i in range(-1, rounds):  # round -1 warms up (catalogs, Babel data): reported apart
        # An existing subscriber reads the agenda; a new viewer subscribes.
        for name, text, chat in (
            ("schedule", "/schedule", str(1 + (i * 7919) % count)),
            ("subscribe", "/subscribe s2", str(10_000_000 + i)),
        ):
            began = time.perf_counter()
            reply = await memory.push(text, chat_id=chat)
            elapsed = (time.perf_counter() - began) * 1000
            if i < 0:
                first[name] = elapsed
            else:
                latencies[name].append(elapsed)
            assert reply is not None and reply.messages
    await worker.settle()

    # One reminder's ledger rows: the "live now" group of session 1, as its job writes it.
    group = next(
        g for g in worker.scheduler._groups.values() if g.session_id == "s1" and g.offset == 0
    )
    began = time.perf_counter()
    added = await worker.scheduler.fire(group)
    ledger_seconds = time.perf_counter() - began
    await worker.stop()
    floor_seconds = await _ledger_floor(store)
    await store.close()
    return {
        "startup": startup,
        "rss_at_rest": at_rest,
        "peak_rss": peak_rss_mb(),
        "p99_ms": {name: percentile(v, 99) for name, v in latencies.items()},
        "p50_ms": {name: percentile(v, 50) for name, v in latencies.items()},
        "first_ms": first,
        "ledger_rows": added,
        "ledger_seconds": ledger_seconds,
        "ledger_floor_seconds": floor_seconds,
    }


async def _ledger_floor(store: Store) -> float:
    """This database's floor for the ledger write, in the same run: the same rows selected the
    same way, inserted into a bare copy of the table (no index, no constraint), committed."""
    import sqlalchemy as sa

    copy = "CREATE TABLE bench_floor AS SELECT * FROM deliveries WHERE 1 = 0"
    insert = (
        "INSERT INTO bench_floor (chat_pk, platform, kind, ref, session_id, status, attempts,"
        " due_at, created_at, updated_at)"
        " SELECT c.id, c.platform, 'reminder', 'floor', 's1', 'pending', 0, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM chats c WHERE c.status = 'active'"
        " AND c.id IN (SELECT chat_pk FROM subscriptions WHERE session_id IN ('s1', '*'))"
    )
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(copy))
    began = time.perf_counter()
    async with store.engine.begin() as conn:
        await conn.execute(sa.text(insert))
    seconds = time.perf_counter() - began
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE bench_floor"))
    return seconds


async def flood(args: dict[str, Any]) -> dict[str, Any]:
    """One chat sends `count` commands at once while `viewers` others ask, one every `every`
    seconds: how long the others wait for their answer, through the real Telegram adapter.

    The fake Bot API runs in this process (updates are pushed into it) and holds the bot to
    Telegram's limits: 30 messages a second, one a second in a chat.
    """
    from bot.adapters.telegram import TelegramAdapter
    from tests.fakes.telegram import FakeTelegram

    count, viewers = int(args.get("count", 500)), int(args.get("viewers", 50))
    every, within = float(args.get("every", 0.2)), float(args.get("within", 30.0))
    flooder, first_viewer = 900_001, 900_100
    async with FakeTelegram() as tg:
        tg.rate_limit(30, per_chat_per_second=1)
        settings = replace(Settings(), telegram=replace(TelegramConfig(), poll_timeout=10))
        env = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{tg.port}",
        }
        store = await Store.open(_db_url(args))
        start = dt.datetime.now(UTC) + dt.timedelta(days=2)  # nothing due while measuring
        worker = Worker(
            settings, summit_at(start), store, [TelegramAdapter.from_env(env, settings)]
        )
        await worker.start()
        for _ in range(count):
            tg.push_message(flooder, "/mysubs")
        asked: dict[int, float] = {}
        for i in range(viewers):
            await asyncio.sleep(every if i else 0.1)
            chat = first_viewer + i
            asked[chat] = time.monotonic()
            tg.push_message(chat, "/mysubs")
        answered: dict[int, float] = {}
        deadline = time.monotonic() + within
        while len(answered) < viewers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # a benchmark, not a test: polling is fine
            for chat in asked.keys() - answered.keys():
                sent = [r.time for r in tg.requests("sendMessage", chat_id=chat) if r.ok]
                if sent:
                    answered[chat] = sent[0]
        latencies = [answered[c] - asked[c] if c in answered else within for c in asked]
        # The flooder's answers still in the pipe (at one a second): wait until 2 s pass
        # without one, within the same bound.
        to_flooder = [r for r in tg.requests("sendMessage", chat_id=flooder) if r.ok]
        quiet = time.monotonic() + 2.0
        while time.monotonic() < min(quiet, deadline + within):
            await asyncio.sleep(0.1)
            now = [r for r in tg.requests("sendMessage", chat_id=flooder) if r.ok]
            if len(now) > len(to_flooder):
                to_flooder, quiet = now, time.monotonic() + 2.0
        too_many = sum(1 for r in tg.requests() if r.status == 429)
        await worker.stop()
        await store.close()
    return {
        "p99": percentile(latencies, 99),
        "p50": percentile(latencies, 50),
        "unanswered": viewers - len(answered),
        "within": within,  # an unanswered viewer counts as waiting this long
        "too_many": too_many,
        "flooder_messages": len(to_flooder),
        "slow_downs": sum(1 for r in to_flooder if "too fast" in (r.text or "")),
    }


# What viewers type to /timezone, by language: cities, typos, countries, offsets, zone names
# and abbreviations; a language without a catalog is left out (its viewers read English).
ZONE_QUERIES: tuple[tuple[str, str], ...] = (
    ("en", "Prague"),
    ("en", "Medellin"),
    ("en", "Pragu"),
    ("en", "Wellington"),
    ("en", "St. John's"),
    ("en", "CZ"),
    ("en", "UTC+8"),
    ("en", "europe/prague"),
    ("en", "PST"),
    ("en", "IST"),
    ("en", "Pacific Time"),
    ("zh-TW", "太平洋時間"),
    ("zh-TW", "布拉格"),
    ("es", "hora del Pacífico"),
    ("es", "Praga"),
    ("fr", "heure normale d’Europe centrale"),
    ("cs", "Praha"),
    ("pl", "Warszawa"),
    ("ru", "Прага"),
    ("ko", "서울"),
    ("vi", "Hà Nội"),
)


async def timezone(args: dict[str, Any]) -> dict[str, Any]:
    """/timezone as viewers of every language type it: the first call (the city index built
    on demand) apart, the adapters' warm-up of every language timed, then `rounds` rounds."""
    from bot.adapters.memory import MemoryAdapter
    from bot.i18n import languages
    from bot.timezones import warm_up

    base = Settings()
    settings = replace(base, limits=replace(base.limits, command_burst=0))  # no throttle
    store = await Store.open(_db_url(args))
    memory = MemoryAdapter()
    worker = Worker(
        settings, summit_at(dt.datetime.now(UTC) + dt.timedelta(days=2)), store, [memory]
    )
    await worker.start()
    queries = [(lang, query) for lang, query in ZONE_QUERIES if lang in languages()]
    for lang in {lang for lang, _ in queries}:
        await memory.push(f"/language {lang}", chat_id=f"tz-{lang}")

    async def ask(lang: str, query: str) -> float:
        began = time.perf_counter()
        reply = await memory.push(f"/timezone {query}", chat_id=f"tz-{lang}")
        elapsed = (time.perf_counter() - began) * 1000
        assert reply is not None and reply.messages
        return elapsed

    first = await ask("en", "Prague")
    began = time.perf_counter()
    warm_up(languages())  # what the Telegram and Discord adapters do at start
    warm_ms = (time.perf_counter() - began) * 1000
    latencies: list[float] = []
    slowest: dict[str, float] = {}
    for _ in range(int(args.get("rounds", 20))):
        for lang, query in queries:
            elapsed = await ask(lang, query)
            latencies.append(elapsed)
            key = f"{lang}:{query}"
            slowest[key] = max(slowest.get(key, 0.0), elapsed)
    await worker.stop()
    await store.close()
    worst = sorted(slowest.items(), key=lambda item: -item[1])[:3]
    return {
        "first_ms": first,
        "warm_up_ms": warm_ms,
        "p99_ms": percentile(latencies, 99),
        "p50_ms": percentile(latencies, 50),
        "count": len(latencies),
        "queries": len(queries),
        "languages": sorted({lang for lang, _ in queries}),
        "slowest": dict(worst),
    }


async def during(args: dict[str, Any]) -> dict[str, Any]:
    """Viewers' commands while a fan-out runs: one reminder to `count` subscribers at 30 a
    second through the real Telegram adapter, and meanwhile `commands` viewers (none of them
    subscribers) each send one command, `per_second` of them a second; how long each waits
    for the answer. With `fanout: false` the same commands with nothing else going on (the
    floor, in the same run).
    """
    from bot.adapters.telegram import TelegramAdapter
    from tests.fakes.telegram import FakeTelegram

    count, commands = int(args.get("count", 3000)), int(args.get("commands", 200))
    per_second, within = float(args.get("per_second", 10)), float(args.get("within", 30.0))
    first_viewer = 5_000_000
    async with FakeTelegram() as tg:
        tg.rate_limit(30, per_chat_per_second=1)
        settings = replace(
            _settings({"per_second": 30}), telegram=replace(TelegramConfig(), poll_timeout=10)
        )
        env = {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{tg.port}",
        }
        store = await Store.open(_db_url(args))
        fanout = bool(args.get("fanout", True))
        if fanout:
            await seed_subscribers(store, "telegram", count, first_chat_id=1)
        warmed_up()
        due = dt.datetime.now(UTC) + dt.timedelta(seconds=3)
        worker = Worker(settings, summit_at(due), store, [TelegramAdapter.from_env(env, settings)])
        await worker.start()
        started = time.monotonic()
        while fanout and not tg.requests("sendMessage"):  # the fan-out under way first
            await asyncio.sleep(0.05)  # a benchmark, not a test: polling is fine
            if time.monotonic() - started > within:
                raise TimeoutError("the fan-out did not start")
        asked: dict[int, float] = {}
        for i in range(commands):
            chat = first_viewer + i
            asked[chat] = time.monotonic()
            tg.push_message(chat, "/next")
            await asyncio.sleep(1 / per_second)
        answered: dict[int, float] = {}
        deadline = time.monotonic() + within
        while len(answered) < commands and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # a benchmark, not a test: polling is fine
            for chat in asked.keys() - answered.keys():
                sent = [r.time for r in tg.requests("sendMessage", chat_id=chat) if r.ok]
                if sent:
                    answered[chat] = sent[0]
        latencies = [answered[c] - asked[c] if c in answered else within for c in asked]
        fanned = sum(
            1 for r in tg.requests("sendMessage") if r.ok and int(r.chat_id) < first_viewer
        )
        too_many = sum(1 for r in tg.requests() if r.status == 429)
        await worker.stop()
        await store.close()
    return {
        "p99": percentile(latencies, 99),
        "p50": percentile(latencies, 50),
        "unanswered": commands - len(answered),
        "too_many": too_many,
        "fanout_sent_meanwhile": fanned,
    }


# The dashboard's pages, each requested `requests` times (a broadcast #1 exists).
DASHBOARD_PAGES = (
    "/dashboard",
    "/dashboard/live.json",
    "/dashboard/audience",
    "/dashboard/broadcasts",
    "/dashboard/broadcasts/1",
    "/dashboard/schedule",
    "/dashboard/audit",
)


async def dashboard(args: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's pages over a seeded database, while a broadcast to every subscriber is
    going out (its ledger rows pending): latency per page, measured by an HTTP client."""
    import aiohttp
    from aiohttp import web

    from bot.adapters.memory import MemoryAdapter
    from bot.audience import Audience
    from bot.store import Author
    from bot.store.dashboard_tokens import TokenKind
    from bot.web.context import CONTEXT, WebContext
    from bot.web.dashboard import add_dashboard
    from bot.web.dashboard.signin import COOKIE

    store = await Store.open(args["db_url"])
    now = dt.datetime.now(UTC)
    worker = Worker(Settings(), summit_at(now + dt.timedelta(days=2)), store, [MemoryAdapter()])
    # No background loops: the broadcast's rows stay pending, as in the middle of a fan-out.
    await worker.start(background=False)
    record = await store.broadcasts.create(
        created_by=Author("memory", "1", "1"),
        origin_platform="dashboard",
        texts={"en": "The stream is up"},
        audience=Audience.everyone(),
        send_at=now,
        now=now,
    )
    queued = await worker.broadcasts.enqueue(record.id, now=now)
    for i in range(200):  # a page and more of audit entries
        await store.audit.record(
            platform="telegram", actor="9", action="stats", detail={"n": i}, allowed=True, now=now
        )
    secret = await store.dashboard.issue(
        TokenKind.SESSION,
        platform="telegram",
        actor="9",
        lang="en",
        now=now,
        valid=dt.timedelta(hours=1),
    )
    app = web.Application()
    app[CONTEXT] = WebContext(worker, worker.settings, worker.clock, "http://127.0.0.1")
    add_dashboard(app)
    if args.get("cold"):
        # Every figure computed afresh for every request: what the memo saves.
        from bot.web.dashboard.figures import FIGURES, Figures

        class Cold(Figures):
            async def get(
                self, key: str, ttl: float, compute: Any, *, stale_ok: bool = True
            ) -> Any:
                return await compute()

        app[FIGURES] = Cold()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    requests = int(args.get("requests", 100))
    latencies: dict[str, list[float]] = {page: [] for page in DASHBOARD_PAGES}
    first: dict[str, float] = {}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookies={COOKIE: secret}) as http:
        for i in range(-1, requests):  # round -1 warms up (catalogs, Babel): reported apart
            for page in DASHBOARD_PAGES:
                began = time.perf_counter()
                async with http.get(page) as response:
                    await response.read()
                    assert response.status == 200, (page, response.status)
                elapsed = (time.perf_counter() - began) * 1000
                if i < 0:
                    first[page] = elapsed
                else:
                    latencies[page].append(elapsed)
    await runner.cleanup()
    await worker.stop()
    await store.close()
    return {
        "pending_rows": queued,
        "p99_ms": {page: percentile(v, 99) for page, v in latencies.items()},
        "p50_ms": {page: percentile(v, 50) for page, v in latencies.items()},
        "first_ms": first,
    }


SCENARIOS = {
    "engine": engine,
    "naive": naive,
    "seed": seed,
    "scale": scale,
    "flood": flood,
    "timezone": timezone,
    "during": during,
    "dashboard": dashboard,
}


def main() -> None:
    """Run the scenario the JSON argument names."""
    run_scenario(SCENARIOS)


if __name__ == "__main__":
    main()
