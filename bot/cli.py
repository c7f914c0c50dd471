"""The command line: `summit-bot check | agenda | run | demo`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.adapters import build_adapters
from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleAdapter
from bot.app import Worker, open_store, run_until_stopped, stop_on_signals
from bot.audience import Audience
from bot.broadcasts import (
    BroadcastError,
    Broadcasts,
    describe_audience,
    parse_audience,
    parse_when,
)
from bot.calendar import add_ics_parser, cmd_ics
from bot.changes import diff, report_line, worth_notifying
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import languages, normalize_language
from bot.reload import ScheduleTransform, shift_by
from bot.render import Reader, render_agenda
from bot.schedule import Schedule, ScheduleError, load_schedule, parse_schedule
from bot.store import Author, WorkerLock
from bot.store.urls import DEFAULT_SQLITE_FILE
from bot.timezones import resolve_timezone


def _parse_instant(text: str) -> dt.datetime:
    """An ISO date-time with an offset, for --now; naive input is refused."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; e.g. 2020-08-13T09:00Z")
    return value.astimezone(dt.UTC)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedule", metavar="PATH", help="schedule file (default: from config)")
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: config/default.yaml)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="summit-bot", description="Localized reminders and livestream links for events."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="validate the schedule and the config; exit 1 on errors")
    _add_common(check)
    check.add_argument(
        "--changes",
        action="store_true",
        help="also list what subscribers would be told: the file against the schedule in force "
        "in the database (DATABASE_URL, or the embedded SQLite file)",
    )
    check.add_argument("--lang", metavar="CODE", default="en", help="en or zh-TW (default en)")
    check.add_argument(
        "--now", metavar="ISO", type=_parse_instant, help="pretend it is this instant"
    )
    agenda = sub.add_parser("agenda", help="print the agenda as a viewer's /schedule shows it")
    _add_common(agenda)
    agenda.add_argument("--tz", metavar="QUERY", help="a city, country, zone or UTC offset")
    agenda.add_argument("--lang", metavar="CODE", default="en", help="en or zh-TW (default en)")
    agenda.add_argument(
        "--now",
        metavar="ISO",
        type=_parse_instant,
        help="pretend it is this instant (for rehearsals and tests)",
    )
    run = sub.add_parser("run", help="run the worker until SIGTERM (the Procfile's worker)")
    _add_common(run)
    run.add_argument(
        "--rehearse",
        metavar="START",
        help="shift the schedule so the first session starts at START "
        "(+MINUTES or an ISO date-time): a dress rehearsal",
    )
    run.add_argument(
        "--console",
        action="store_true",
        help="chat on this terminal instead of the platforms whose tokens are set",
    )
    cast = sub.add_parser("broadcast", help="send an announcement through the running worker")
    _add_common(cast)
    cast.add_argument(
        "--text",
        action="append",
        required=True,
        metavar="[LANG=]TEXT",
        help="the text, once per language: --text 'en=Hello' --text 'zh-TW=你好'",
    )
    cast.add_argument(
        "--to", default="all", help="all (default), a session id, a language (zh-TW) or channels"
    )
    cast.add_argument("--at", help="send time: +MINUTES or an ISO date-time (default: now)")
    cast.add_argument("--yes", action="store_true", help="send it (without: preview only)")
    cast.add_argument(
        "--wait",
        action="store_true",
        help="stay until it is delivered, printing progress and the final report",
    )
    demo = sub.add_parser("demo", help="a two-minute rehearsal on this terminal, no token needed")
    _add_common(demo)
    demo.add_argument("--lang", metavar="CODE", default=None, help="the viewer's language")
    add_ics_parser(sub)
    return parser


def rehearsal_shift(schedule: Schedule, spec: str, now: dt.datetime) -> dt.timedelta:
    """How far to move the schedule so that its first timed session starts at `spec`."""
    starts = [s.start for s in schedule.sessions if s.start is not None]
    if not starts:
        raise ValueError("the schedule has no session with a time to rehearse")
    if spec.startswith("+"):
        target = now + dt.timedelta(minutes=float(spec[1:]))
    else:
        target = _parse_instant(spec)
    return target - min(starts)


def _load(args: argparse.Namespace, err: TextIO) -> tuple[Settings, Schedule] | None:
    """Settings and schedule, or None after printing every error."""
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=err)
        return None
    try:
        schedule = load_schedule(args.schedule or settings.schedule)
    except ScheduleError as exc:
        print(f"schedule errors ({len(exc.problems)}):", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return None
    return settings, schedule


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Validate config and schedule."""
    loaded = _load(args, err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    timed = sum(1 for s in schedule.sessions if s.start)
    print(
        f"{schedule.source}: OK: {len(schedule.sessions)} sessions ({timed} with a time), "
        f"languages {', '.join(schedule.event.languages)}",
        file=out,
    )
    if not args.changes:
        return 0
    lang = normalize_language(args.lang) or schedule.event.languages[0]
    now = args.now or dt.datetime.now(dt.UTC)
    return asyncio.run(_changes(settings, schedule, lang, now, out))


async def _changes(
    settings: Settings, schedule: Schedule, lang: str, now: dt.datetime, out: TextIO
) -> int:
    """What putting `schedule` in force would announce, and to how many subscribers."""
    embedded = Path(settings.data_dir) / DEFAULT_SQLITE_FILE
    if settings.database_url is None and not embedded.exists():
        print(f"No database at {embedded} yet: the first start announces nothing.", file=out)
        return 0
    store = await open_store(settings)
    try:
        last = await store.schedules.last(schedule.event.id)
        if last is None:
            print("No schedule recorded yet: the next start records this one.", file=out)
            return 0
        revision, text = last
        try:
            old = parse_schedule(text, f"revision {revision}")
        except ScheduleError:
            print(f"Revision {revision} in force was written by another release.", file=out)
            return 0
        changes = diff(old, schedule)
        if not changes:
            print(f"Against revision {revision} in force: nothing to announce.", file=out)
            return 0
        print(f"Against revision {revision} in force, {len(changes)} change(s):", file=out)
        total = 0
        for change in changes:
            line = report_line(change, schedule, lang)
            if worth_notifying(change, now):
                count = await store.chats.count_subscribers(session_id=change.session_id)
                total += count
                line += f" ({count} subscriber(s) told)"
            print(line, file=out)
        print(
            f"Putting it in force (saving it where the worker reads it, or starting the "
            f"worker) queues up to {total} notice(s).",
            file=out,
        )
    finally:
        await store.close()
    return 0


def cmd_agenda(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the agenda for one place and language."""
    loaded = _load(args, err)
    if loaded is None:
        return 1
    _, schedule = loaded
    lang = normalize_language(args.lang)
    if lang is None:
        print(f"unknown language {args.lang!r}; use one of: {', '.join(languages())}", file=err)
        return 2
    zone, place, chosen = schedule.event.timezone, None, False
    if args.tz:
        resolution = resolve_timezone(args.tz, lang)
        if resolution.match is None:
            if resolution.choices:
                print(f"{args.tz!r} fits several places; pick one:", file=err)
                for choice in resolution.choices:
                    print(f"  --tz {choice.zone!r}   ({choice.label})", file=err)
            else:
                hint = ", ".join(resolution.suggestions) or "Prague, CZ, Asia/Taipei, UTC+8"
                print(f"no place or time zone called {args.tz!r}; try: {hint}", file=err)
            return 2
        zone, place, chosen = resolution.match.zone, resolution.match.label, True
        print(f"{args.tz} → {place} ({zone})", file=out)
        others = [c.label for c in resolution.choices]
        if others:
            print(f"  (not this one? also: {'; '.join(others)})", file=out)
    now = args.now or dt.datetime.now(dt.UTC)
    message = render_agenda(schedule, Reader(lang, zone, place), now, zone_chosen=chosen)
    print(message.plain(), file=out)
    return 0


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def cmd_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the worker with the adapters the environment chooses."""
    loaded = _load(args, err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    transform = None
    try:
        adapters = build_adapters(os.environ, settings, console=args.console)
        if args.rehearse:
            # The same shift applies to every reload of the file during the rehearsal.
            transform = shift_by(rehearsal_shift(schedule, args.rehearse, dt.datetime.now(dt.UTC)))
            schedule = transform(schedule)
    except (ConfigError, ValueError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    _logging()
    path = Path(args.schedule or settings.schedule)
    return asyncio.run(_serve(settings, schedule, adapters, path, transform))


async def _serve(
    settings: Settings,
    schedule: Schedule,
    adapters: list[Adapter],
    path: Path,
    transform: ScheduleTransform | None,
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
            settings, schedule, store, adapters, schedule_path=path, schedule_transform=transform
        )
        await run_until_stopped(worker, stop, lock=lock)
    finally:
        await lock.release()
        await store.close()
    return 0


def cmd_broadcast(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Preview, or with --yes queue, a broadcast in the ledger the worker drains."""
    loaded = _load(args, err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    now = dt.datetime.now(dt.UTC)
    texts: dict[str, str] = {}
    for item in args.text:
        lang, sep, body = item.partition("=")
        code = normalize_language(lang) if sep else None
        if code is None or code not in schedule.event.languages:
            code, body = schedule.event.languages[0], item
        texts[code] = body
    try:
        audience = parse_audience(args.to, schedule)
        send_at = parse_when(args.at, now) if args.at else now
    except BroadcastError as exc:
        print(f"error: {exc.reason.replace('_', ' ')}: {exc.detail}", file=err)
        return 2
    return asyncio.run(_broadcast(settings, schedule, texts, audience, send_at, args, out))


async def _broadcast(
    settings: Settings,
    schedule: Schedule,
    texts: dict[str, str],
    audience: Audience,
    send_at: dt.datetime,
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    store = await open_store(settings)
    try:
        counts = await store.broadcasts.count_audience(audience)
        print(
            f"To {describe_audience(audience, 'en', schedule)}: {sum(counts.values())} chats "
            f"({', '.join(f'{p} {n}' for p, n in sorted(counts.items())) or 'none'}), "
            f"at {send_at:%Y-%m-%d %H:%M} UTC",
            file=out,
        )
        for code, body in texts.items():
            print(f"  [{code}] {body}", file=out)
        if not args.yes:
            print("Preview only: add --yes to send it.", file=out)
            return 0
        now = dt.datetime.now(dt.UTC)
        actor = os.environ.get("USER", "operator")
        record = await store.broadcasts.create(
            created_by=Author.cli(actor),
            origin_platform="cli",
            texts=texts,
            audience=audience,
            send_at=send_at,
            now=now,
            status="scheduled",
        )
        await store.audit.record(
            platform="cli",
            actor=actor,
            action="broadcast",
            detail={"broadcast": record.id, "audience": audience.as_json()},
            allowed=True,
            now=now,
        )
        rows = await Broadcasts(store, settings).enqueue(record.id, now=now)
        print(
            f"Broadcast #{record.id} queued: {rows} messages; the running worker sends them.",
            file=out,
        )
        while args.wait:
            await asyncio.sleep(1)  # progress for a person watching, not a test
            done = await store.ledger.delivery_counts(broadcast_id=record.id)
            waiting = done.get("pending", 0) + done.get("sending", 0)
            elapsed = (dt.datetime.now(dt.UTC) - send_at).total_seconds()
            print(
                f"#{record.id}: {done.get('sent', 0)} sent, {done.get('blocked', 0)} blocked, "
                f"{done.get('failed', 0)} failed, {waiting} waiting, {max(elapsed, 0):.0f} s",
                file=out,
                flush=True,
            )
            if not waiting:
                break
        return 0
    finally:
        await store.close()


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Rehearse session 1 two minutes from now on this terminal, with a temporary database."""
    loaded = _load(args, err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    schedule = schedule.shifted(rehearsal_shift(schedule, "+2", now))
    # Reminders one minute before and at the start, so that both arrive within the demo.
    reminders = replace(settings.reminders, default_offsets=(1, 0))
    with tempfile.TemporaryDirectory(prefix="summit-bot-demo-") as tmp:
        settings = replace(settings, data_dir=tmp, database_url=None, reminders=reminders)
        return asyncio.run(_demo(settings, schedule, args.lang, out))


async def _demo(settings: Settings, schedule: Schedule, lang: str | None, out: TextIO) -> int:
    interactive = sys.stdin.isatty()
    eof = asyncio.Event()
    console = ConsoleAdapter(stdout=out, locale=lang, on_eof=eof.set, listen_at_start=False)
    store = await open_store(settings)
    worker = Worker(settings, schedule, store, [console])
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
        for line in ("/start", f"/subscribe {first.id}"):
            await console.type(line)
        console.listen()  # the viewer's own commands come after the scripted ones
        await worker.settle()
        while not stop.is_set():
            await asyncio.sleep(1)
            over = dt.datetime.now(dt.UTC) > first.start + dt.timedelta(seconds=5)
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


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    handlers = {
        "check": cmd_check,
        "agenda": cmd_agenda,
        "run": cmd_run,
        "demo": cmd_demo,
        "broadcast": cmd_broadcast,
        "ics": cmd_ics,
    }
    return handlers[args.command](args, out, err)
