"""What every subcommand shares: where it prints, its clock, `--schedule`/`--config`, `--now`
and loading the settings and the schedule."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO, TypeAlias

from bot.config import ConfigError, Settings, load_settings
from bot.schedule import Schedule, ScheduleError, load_schedule

Clock = Callable[[], dt.datetime]
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
    """An ISO date-time with an offset, for --now; naive input is refused."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; e.g. 2020-08-13T09:00Z")
    return value.astimezone(dt.UTC)


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes: which schedule and which config file."""
    parser.add_argument("--schedule", metavar="PATH", help="schedule file (default: from config)")
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: config/default.yaml)"
    )


def load_inputs(args: argparse.Namespace, err: TextIO) -> tuple[Settings, Schedule] | None:
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
