"""`summit-bot run` and `summit-bot demo`: the worker, for real or rehearsed on this terminal."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.adapters import build_adapters
from bot.adapters.base import Adapter, StartFailed
from bot.adapters.console import ConsoleAdapter
from bot.app import Worker, open_store, run_until_stopped, stop_on_signals, tune_garbage_collector
from bot.cli.common import (
    Clock,
    Context,
    Subcommands,
    When,
    add_common,
    load_inputs,
    parse_moment,
)
from bot.config import ConfigError, Settings
from bot.reload import ScheduleTransform, UrlFetcher, shift_by
from bot.schedule import Schedule
from bot.store import WorkerLock
from bot.store.urls import REHEARSAL_SQLITE_FILE, mask_password, sqlite_url
from bot.web.server import WebServer

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Libraries that log routine work at INFO: httpx (under python-telegram-bot) a line per
# request, every long poll; APScheduler a line per job added, removed or run, nine per
# /subscribe. They are held at WARNING unless DEBUG is asked for.
CHATTY_LOGGERS = ("httpx", "apscheduler")
DEMO_TICK = 1.0  # seconds between two looks at whether the demo is over
END_AFTER = dt.timedelta(seconds=5)  # the demo ends this long after its session started


def add_run_parser(sub: Subcommands) -> None:
    """Add `summit-bot run [--rehearse START] [--console]`."""
    run = sub.add_parser("run", help="run the worker until SIGTERM (the Procfile's worker)")
    add_common(run)
    run.add_argument(
        "--rehearse",
        metavar="START",
        type=parse_moment,
        help="shift the schedule so the first session starts at START "
        "(+MINUTES or an ISO date-time): a dress rehearsal",
    )
    run.add_argument(
        "--console",
        action="store_true",
        help="chat on this terminal instead of the platforms whose tokens are set",
    )
    add_database_url(run, "DATABASE_URL; a rehearsal's default: its own SQLite file")
    add_log_level(run, "INFO")
    run.set_defaults(handler=cmd_run)


def add_demo_parser(sub: Subcommands) -> None:
    """Add `summit-bot demo [--lang CODE]`."""
    demo = sub.add_parser("demo", help="a two-minute rehearsal on this terminal, no token needed")
    add_common(demo)
    demo.add_argument("--lang", metavar="CODE", default=None, help="the viewer's language")
    add_database_url(demo, "a temporary SQLite file, removed at the end")
    # The demo's terminal is a chat: only what goes wrong interrupts it, unless asked.
    add_log_level(demo, "WARNING")
    demo.set_defaults(handler=cmd_demo)


def add_log_level(parser: argparse.ArgumentParser, default: str) -> None:
    """The `--log-level` option of the commands that run the worker."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help=f"what the log shows (default {default}); DEBUG adds the libraries' own lines",
    )


def add_database_url(parser: argparse.ArgumentParser, default: str) -> None:
    """The `--database-url` option of the commands that run the worker."""
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=f"the database to use (default: {default})",
    )


def rehearsal_shift(schedule: Schedule, start: When, now: dt.datetime) -> dt.timedelta:
    """How far to move the schedule so that its first timed session starts at `start`."""
    starts = [s.start for s in schedule.sessions if s.start is not None]
    if not starts:
        raise ValueError("the schedule has no session with a time to rehearse")
    return start(now) - min(starts)


def rehearse(
    schedule: Schedule, start: When, now: dt.datetime
) -> tuple[Schedule, ScheduleTransform]:
    """The schedule of a rehearsal starting at `start`, and the shift every reload applies."""
    transform = shift_by(rehearsal_shift(schedule, start, now))
    return transform(schedule), transform


def rehearsal_database(
    settings: Settings, option: str | None, own: Path, note: str, *, env: bool = True
) -> tuple[Settings, str]:
    """The settings with the database a rehearsal uses, and the line that says which.

    Its own file (`own`) unless `--database-url` or, with `env`, DATABASE_URL names another on
    purpose: what testers do in a rehearsal must not count as real subscribers.
    """
    if option:
        chosen = replace(settings, database_url=option)
        return chosen, f"rehearsal database: {mask_password(option)} (--database-url)"
    if env and settings.database_url:
        shown = mask_password(settings.database_url)
        return settings, (
            f"rehearsal database: {shown} (DATABASE_URL, taken as on purpose: "
            "the subscriptions made in this rehearsal stay there)"
        )
    line = f"rehearsal database: {own}, its own ({note}; --database-url chooses another)"
    return replace(settings, database_url=sqlite_url(own)), line


def configure_logging(level: str) -> None:
    """The process's logging: set here, by the entry point, never by an adapter."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)  # also when a handler was there before basicConfig
    asked = logging.getLevelNamesMapping()[level]
    quiet = asked if asked == logging.DEBUG else max(asked, logging.WARNING)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


def cmd_run(args: argparse.Namespace, context: Context) -> int:
    """Run the worker with the adapters the environment chooses."""
    fetchers: dict[str, UrlFetcher] = {}
    loaded = load_inputs(args, context.err, fetchers=fetchers)
    if loaded is None:
        return 1
    settings, schedule = loaded
    transform = None
    try:
        adapters = build_adapters(os.environ, settings, console=args.console)
        # Required: a port that is taken stops the worker (exit 1) rather than leaving a
        # deploy without its health checks.
        web = WebServer.from_settings(settings, os.environ, required=True)
        if args.rehearse:
            # The same shift applies to every reload of the file during the rehearsal.
            schedule, transform = rehearse(schedule, args.rehearse, context.clock())
            own = Path(settings.data_dir) / REHEARSAL_SQLITE_FILE
            settings, line = rehearsal_database(
                settings, args.database_url, own, "beside the real one, which is not touched"
            )
            print(line, file=context.err)
        elif args.database_url:
            settings = replace(settings, database_url=args.database_url)
    except (ConfigError, ValueError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=context.err)
        return 2
    configure_logging(args.log_level)
    location = args.schedule or settings.schedule
    # A URL is polled (its fetcher keeps the validators of the fetch just made); a file is
    # watched.
    source: Path | UrlFetcher = fetchers.get(location) or Path(location)
    tune_garbage_collector()
    try:
        return asyncio.run(
            _serve(settings, schedule, adapters, source, transform, context.clock, web)
        )
    except StartFailed as exc:
        # What failed and what to do, in one line: a traceback would bury it.
        print(f"error: {exc}", file=context.err)
        return 1


async def _serve(
    settings: Settings,
    schedule: Schedule,
    adapters: list[Adapter],
    source: Path | UrlFetcher,
    transform: ScheduleTransform | None,
    clock: Clock,
    web: WebServer | None = None,
) -> int:
    store = await open_store(settings)
    lock = WorkerLock(store.engine)
    stop = asyncio.Event()
    stop_on_signals(stop)
    try:
        # One worker per database; a second one (a rolling deploy) waits for the first.
        if not await lock.wait(stop):
            return 0
        worker = Worker(
            settings,
            schedule,
            store,
            adapters,
            clock,
            schedule_path=source if isinstance(source, Path) else None,
            schedule_transform=transform,
            schedule_fetcher=source if isinstance(source, UrlFetcher) else None,
            web=web,
            lock=lock,
        )
        await run_until_stopped(worker, stop, lock=lock)
    finally:
        await lock.release()
        await store.close()
    # A platform that could not go on (its reason is logged): non-zero, so that a supervisor
    # restarts the worker or tells someone.
    return 1 if worker.failures else 0


def cmd_demo(args: argparse.Namespace, context: Context) -> int:
    """Rehearse session 1 two minutes from now on this terminal, with a temporary database."""
    loaded = load_inputs(args, context.err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    now = context.clock().replace(microsecond=0)
    configure_logging(args.log_level)
    # As in `run --rehearse`: every /reload keeps the shift.
    schedule, transform = rehearse(schedule, parse_moment("+2"), now)
    # Reminders one minute before and at the start, so that both arrive within the demo.
    reminders = replace(settings.reminders, default_offsets=(1, 0))
    with tempfile.TemporaryDirectory(prefix="summit-bot-demo-") as tmp:
        settings = replace(settings, data_dir=tmp, reminders=reminders)
        # DATABASE_URL is not read: a demo is tried anywhere, also where it names production.
        settings, line = rehearsal_database(
            settings,
            args.database_url,
            Path(tmp) / REHEARSAL_SQLITE_FILE,
            "temporary, removed at the end",
            env=False,
        )
        print(line, file=context.out)
        try:
            # Not required: a port that is taken is said, and the demo goes on without it.
            web = WebServer.from_settings(settings, os.environ, required=False)
        except ConfigError as exc:
            print(f"error: {exc}", file=context.err)
            return 2
        return asyncio.run(
            _demo(settings, schedule, transform, args.lang, context.out, context.clock, web)
        )


async def _demo(
    settings: Settings,
    schedule: Schedule,
    transform: ScheduleTransform,
    lang: str | None,
    out: TextIO,
    clock: Clock,
    web: WebServer | None = None,
) -> int:
    interactive = sys.stdin.isatty()
    eof = asyncio.Event()
    console = ConsoleAdapter(
        stdout=out,
        locale=lang,
        on_eof=eof.set,
        listen_at_start=False,
        # Files the viewer asks for (/calendar) go with the demo's database, removed at its end.
        files_dir=Path(settings.data_dir) / "files",
    )
    store = await open_store(settings)
    worker = Worker(
        settings, schedule, store, [console], clock, schedule_transform=transform, web=web
    )
    stop = asyncio.Event()
    first = schedule.sessions[0]
    assert first.start is not None
    print(
        f"summit-bot demo: session 1 is rehearsed to start at {first.start:%H:%M:%S} UTC, "
        "about two minutes from now. Type commands (/help); Ctrl-C ends the demo.\n",
        file=out,
    )
    runner = asyncio.create_task(run_until_stopped(worker, stop))
    try:
        await worker.started.wait()
        if web is not None:
            print(_web_line(web), file=out)
        for line in ("/start", f"/subscribe {first.id}"):
            await console.type(line)
        console.listen()  # the viewer's own commands come after the scripted ones
        await worker.settle()
        while not stop.is_set():
            await asyncio.sleep(DEMO_TICK)
            now = clock()
            # Reminders follow the demo's clock, whatever the scheduler's timers make of it.
            await worker.scheduler.run_due(now)
            # The session as it stands now: a reload may have moved it.
            session = worker.current_schedule().session(first.id)
            over = session is None or session.start is None or now > session.start + END_AFTER
            if (
                over
                and (eof.is_set() or not interactive)
                and not await store.ledger.pending_count()
            ):
                print("The demo's last reminder went out: goodbye.", file=out)
                stop.set()
        await runner
    finally:
        await store.close()
    return 0


def _web_line(web: WebServer) -> str:
    """What the demo says about its web pages: where they are, or why there are none."""
    if web.url is None:
        return f"{web.problem}; the demo goes on without its web pages.\n"
    pages = f"{web.url}/ (health: {web.url}/healthz, metrics: {web.url}/metrics)"
    return f"The schedule page: {pages}\n"
