"""`summit-bot ics`: the schedule (or some sessions) as an iCalendar file, to a file or stdout."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot.calendar import build_ics, select_sessions, session_sequences
from bot.cli.common import Context, Subcommands, add_common, load_inputs, open_existing_store
from bot.config import Settings
from bot.i18n import DEFAULT_LANGUAGE, languages, normalize_language
from bot.schedule import Schedule
from bot.store import mask_password


def add_ics_parser(sub: Subcommands) -> None:
    """Add `summit-bot ics [--session ID] [--lang CODE] [-o FILE]`."""
    ics = sub.add_parser(
        "ics", help="write the schedule as an iCalendar (.ics) file for calendar apps"
    )
    add_common(ics)
    ics.add_argument(
        "--session",
        metavar="ID",
        action="append",
        help="only this session (repeat for several; default: every session)",
    )
    ics.add_argument(
        "--lang",
        metavar="CODE",
        help="a language the bot speaks (default: the event's first language)",
    )
    ics.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    ics.set_defaults(handler=cmd_ics)


def _write(data: bytes, out: TextIO) -> None:
    """The bytes to a text stream: to its binary buffer when it has one (stdout does)."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # a StringIO, say
        out.write(data.decode("utf-8"))
        return
    out.flush()
    buffer.write(data)
    buffer.flush()


async def _sequences(settings: Settings, schedule: Schedule) -> dict[str, int] | None:
    """The sessions' SEQUENCEs from the worker's database, as `/calendar` numbers them; None
    before any worker has run here (no database yet: the schedule has no history)."""
    store = await open_existing_store(settings)
    if store is None:
        return None  # and no database is created just to find that out
    try:
        return await session_sequences(store, schedule)
    finally:
        await store.close()


def cmd_ics(args: argparse.Namespace, context: Context) -> int:
    """Write the .ics of the schedule (or of some sessions) to a file or stdout."""
    out, err = context.out, context.err
    loaded = load_inputs(args, err)
    if loaded is None:
        return 1
    settings, schedule = loaded
    if args.lang:
        lang = normalize_language(args.lang)
        if lang is None:
            known = ", ".join(languages())
            print(f"unknown language {args.lang!r}; use one of: {known}", file=err)
            return 2
    else:
        lang = normalize_language(schedule.event.languages[0]) or DEFAULT_LANGUAGE
    wanted: list[str] | None = [s.lower() for s in args.session] if args.session else None
    unknown = [s for s in wanted or () if schedule.session(s) is None]
    if unknown:
        ids = ", ".join(schedule.session_ids())
        print(f"no session {', '.join(map(repr, unknown))}; sessions: {ids}", file=err)
        return 2
    try:
        sequences = asyncio.run(_sequences(settings, schedule))
    except (OSError, ValueError, SQLAlchemyError) as exc:
        # Not numbered from nothing instead: apps ignore an update whose SEQUENCE went down.
        print(
            f"cannot read the schedule's history from the database: {mask_password(str(exc))}; "
            "check DATABASE_URL, or run this where the worker's database is",
            file=err,
        )
        return 1
    data = build_ics(schedule, wanted, lang, now=context.clock(), sequences=sequences)
    if not args.output:
        _write(data, out)
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        print(f"cannot write {args.output}: {exc}", file=err)
        return 1
    count = len(select_sessions(schedule, wanted))
    print(f"{args.output}: {count} sessions ({lang})", file=out)
    return 0
