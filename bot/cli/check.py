"""`summit-bot check [--changes]`: validate config and schedule; what a change would announce."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from typing import TextIO

from bot.cli.common import (
    Context,
    Subcommands,
    add_common,
    database_missing,
    load_inputs_report,
    open_existing_store,
    parse_instant,
)
from bot.config import Settings
from bot.i18n import normalize_language, t
from bot.reload.preview import preview_changes
from bot.schedule import Loaded, Schedule, ScheduleError, parse_source


def add_check_parser(sub: Subcommands) -> None:
    """Add `summit-bot check [--changes [--lang CODE] [--now ISO]]`."""
    check = sub.add_parser("check", help="validate the schedule and the config; exit 1 on errors")
    add_common(check)
    check.add_argument(
        "--changes",
        action="store_true",
        help="also list what subscribers would be told: the file against the schedule in force "
        "in the database (DATABASE_URL, or the embedded SQLite file)",
    )
    check.add_argument(
        "--lang", metavar="CODE", default="en", help="a language the bot speaks (default en)"
    )
    check.add_argument(
        "--now", metavar="ISO", type=parse_instant, help="pretend it is this instant"
    )
    check.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace, context: Context) -> int:
    """Validate config and schedule."""
    out = context.out
    loaded = load_inputs_report(args, context.err)
    if loaded is None:
        return 1
    settings, report = loaded
    schedule = report.schedule
    timed = sum(1 for s in schedule.sessions if s.start)
    print(
        f"{schedule.source}: OK: {len(schedule.sessions)} sessions ({timed} with a time), "
        f"languages {', '.join(schedule.event.languages)}",
        file=out,
    )
    _describe(report, out)
    if not args.changes:
        return 0
    lang = normalize_language(args.lang) or schedule.event.languages[0]
    now = args.now or context.clock()
    return asyncio.run(_changes(settings, schedule, lang, now, out))


def _describe(report: Loaded, out: TextIO) -> None:
    """The format read, what the schedule holds, and what an overlay could add to it."""
    schedule = report.schedule
    rooms = {s.room for s in schedule.sessions if s.room}
    tracks = {s.track for s in schedule.sessions if s.track}
    days = {s.date for s in schedule.sessions}
    service = sum(1 for s in schedule.sessions if s.service)
    print(
        f"format: {report.format}; {len(schedule.sessions) - service} talks, "
        f"{service} breaks (not offered for reminders), {len(rooms)} rooms, "
        f"{len(tracks)} tracks, {len(days)} days; time zone {schedule.event.timezone}",
        file=out,
    )
    for hint in report.hints:
        print(f"overlay could add: {hint}", file=out)


async def _changes(
    settings: Settings, schedule: Schedule, lang: str, now: dt.datetime, out: TextIO
) -> int:
    """What putting `schedule` in force would announce, and to how many subscribers."""
    missing = database_missing(settings)
    store = await open_existing_store(settings)
    if store is None:
        print(f"No database at {missing} yet: the first start announces nothing.", file=out)
        return 0
    try:
        last = await store.schedules.last(schedule.event.id)
        if last is None:
            print("No schedule recorded yet: the next start records this one.", file=out)
            return 0
        revision, text = last
        try:
            old = parse_source(text, origin=f"revision {revision}")
        except ScheduleError:
            print(f"Revision {revision} in force was written by another release.", file=out)
            return 0
        preview = await preview_changes(store, old, schedule, lang, now)
        if preview.empty:
            print(t("changes.check_none", lang, revision=revision), file=out)
            return 0
        count = len(preview.lines)
        print(t("changes.check_head", lang, revision=revision, count=count), file=out)
        for line in preview.lines:
            print(line, file=out)
        print(t("changes.check_total", lang, count=preview.total), file=out)
    finally:
        await store.close()
    return 0
