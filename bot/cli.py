"""The command line: `summit-bot check | agenda | run | demo`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.config import ConfigError, Settings, load_settings
from bot.i18n import languages, normalize_language
from bot.render import Reader, render_agenda
from bot.schedule import Schedule, ScheduleError, load_schedule
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
    return parser


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
    _, schedule = loaded
    timed = sum(1 for s in schedule.sessions if s.start)
    print(
        f"{schedule.source}: OK: {len(schedule.sessions)} sessions ({timed} with a time), "
        f"languages {', '.join(schedule.event.languages)}",
        file=out,
    )
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


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    handlers = {"check": cmd_check, "agenda": cmd_agenda}
    return handlers[args.command](args, out, err)
