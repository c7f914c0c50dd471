"""What every subcommand shares: where it prints, its clock, `--schedule`/`--config`, the
values options take (`--now`, `+MINUTES`), loading the settings and the schedule, and opening
a database only where one exists."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO, TypeAlias

from bot.app import open_store
from bot.broadcasts import BroadcastError, parse_when
from bot.config import ConfigError, Settings, load_settings
from bot.reload import FetchError, UrlFetcher, is_url, shown_url
from bot.schedule import Loaded, Schedule, ScheduleError, load_report
from bot.schedule.sources import find_overlay, read_source
from bot.store import Store
from bot.store.urls import sqlite_file

Clock = Callable[[], dt.datetime]
# An instant given relative to when it is read ("+30"), or absolute: resolved with `now`.
When = Callable[[dt.datetime], dt.datetime]
INSTANT_EXAMPLE = "2020-08-13T15:00+08:00"
# A string: argparse's class is generic to type checkers only, not at run time.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclass(frozen=True)
class Context:
    """What a subcommand runs with: its output and error streams, and the one clock it reads."""

    out: TextIO
    err: TextIO
    clock: Clock


Handler = Callable[[argparse.Namespace, Context], int]


def parse_instant(text: str) -> dt.datetime:
    """An ISO date-time with a zone, for --now; anything else is refused saying what would do."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date-time with a zone, e.g. {INSTANT_EXAMPLE} or "
            f"2020-08-13T07:00Z; got {text!r}"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no zone; add its offset, e.g. {INSTANT_EXAMPLE}, or Z for UTC"
        )
    return value.astimezone(dt.UTC)


# Any instant: checking the syntax early needs one, the value is read later on the clock.
_SYNTAX_ONLY = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def parse_moment(text: str) -> When:
    """+MINUTES from now or an ISO date-time with a zone (--rehearse, --at), checked at once
    with the parser /broadcast uses, so both read one syntax."""
    try:
        parse_when(text, _SYNTAX_ONLY)
    except BroadcastError:
        raise argparse.ArgumentTypeError(
            f"expected +MINUTES (e.g. +30) or an ISO date-time with a zone "
            f"(e.g. {INSTANT_EXAMPLE}); got {text!r}"
        ) from None
    return lambda now: parse_when(text, now)


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes: which schedule and which config file."""
    parser.add_argument(
        "--schedule",
        metavar="PATH|URL",
        help="schedule file or https:// URL (default: from config)",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: config/default.yaml)"
    )
    parser.add_argument(
        "--overlay",
        metavar="PATH",
        help="overlay of an imported schedule (default: from config, else "
        "<schedule>.overlay.yaml beside it when it exists)",
    )


def load_inputs(
    args: argparse.Namespace, err: TextIO, *, fetchers: dict[str, UrlFetcher] | None = None
) -> tuple[Settings, Schedule] | None:
    """Settings and schedule (a file, or a URL fetched now), or None after printing every
    error. A URL's fetcher is left in `fetchers`, for the worker to poll with."""
    loaded = load_inputs_report(args, err, fetchers=fetchers)
    return (loaded[0], loaded[1].schedule) if loaded is not None else None


def load_inputs_report(
    args: argparse.Namespace, err: TextIO, *, fetchers: dict[str, UrlFetcher] | None = None
) -> tuple[Settings, Loaded] | None:
    """Settings and schedule with its format and hints, or None after printing every error."""
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"config errors ({len(exc.problems)}):", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return None
    location = args.schedule or settings.schedule
    try:
        if getattr(args, "overlay", None):
            # The worker's reloads read the same overlay as the start did.
            settings = replace(settings, schedule_overlay=args.overlay)
        overlay = settings.schedule_overlay or None
        if is_url(location):
            fetcher = UrlFetcher(location)
            report = fetch_schedule(fetcher, overlay)
            if fetchers is not None:
                fetchers[location] = fetcher
        else:
            report = load_report(location, overlay)
    except FetchError as exc:
        print(f"schedule error: {exc.reason}", file=err)
        return None
    except ScheduleError as exc:
        print(f"schedule errors ({len(exc.problems)}):", file=err)
        for problem in exc.problems:
            print(f"  {problem}", file=err)
        return None
    return settings, report


def fetch_schedule(fetcher: UrlFetcher, overlay_path: str | None) -> Loaded:
    """The schedule at the fetcher's URL, fetched now, with the overlay named (a URL has none
    beside it); raises FetchError or ScheduleError."""
    fetched = asyncio.run(fetcher.fetch(conditional=False))
    assert fetched.body is not None  # an unconditional request never answers 304
    overlay = find_overlay("", overlay_path) if overlay_path else None
    return read_source(fetched.body, origin=shown_url(fetcher.url), overlay=overlay)


def database_missing(settings: Settings) -> Path | None:
    """The SQLite file the settings name when it does not exist yet (opening would create it)."""
    path = sqlite_file(settings.database_url, Path(settings.data_dir))
    return path if path is not None and not path.exists() else None


async def open_existing_store(settings: Settings) -> Store | None:
    """The store the settings name, or None when it is a SQLite file not made yet: a command
    that only looks (a preview, a check) must not leave a database behind."""
    if database_missing(settings) is not None:
        return None
    return await open_store(settings)
