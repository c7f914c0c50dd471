"""`summit-bot agenda`: the agenda as a viewer's /schedule shows it, for one place and language."""

from __future__ import annotations

import argparse

from bot.cli.common import Context, Subcommands, add_common, load_inputs, parse_instant
from bot.i18n import languages, normalize_language
from bot.i18n.formatting import format_places, place_with_zone
from bot.programme import opening_view
from bot.render import Reader
from bot.timezones import resolve_timezone


def add_agenda_parser(sub: Subcommands) -> None:
    """Add `summit-bot agenda [--tz QUERY] [--lang CODE] [--now ISO]`."""
    agenda = sub.add_parser("agenda", help="print the agenda as a viewer's /schedule shows it")
    add_common(agenda)
    agenda.add_argument("--tz", metavar="QUERY", help="a city, country, zone or UTC offset")
    agenda.add_argument(
        "--lang", metavar="CODE", default="en", help="a language the bot speaks (default en)"
    )
    agenda.add_argument(
        "--now",
        metavar="ISO",
        type=parse_instant,
        help="pretend it is this instant (for rehearsals and tests)",
    )
    agenda.set_defaults(handler=cmd_agenda)


def cmd_agenda(args: argparse.Namespace, context: Context) -> int:
    """Print the agenda for one place and language."""
    out, err = context.out, context.err
    loaded = load_inputs(args, err)
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
                examples = resolution.suggestions or ("Prague", "CZ", "Asia/Taipei", "UTC+8")
                # The lines around the list are English, so is its punctuation.
                hint = format_places(examples, None, alternatives=True)
                print(f"no place or time zone called {args.tz!r}; try: {hint}", file=err)
            return 2
        zone, place, chosen = resolution.match.zone, resolution.match.label, True
        print(f"{args.tz} → {place_with_zone(place, zone, None)}", file=out)
        others = [c.label for c in resolution.choices]
        if others:
            print(f"  (not this one? also: {format_places(others, None)})", file=out)
    now = args.now or context.clock()
    message = opening_view(schedule, Reader(lang, zone, place), now, chosen=chosen)
    print(message.plain(), file=out)
    return 0
