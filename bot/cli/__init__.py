"""The command line: `summit-bot check | agenda | run | broadcast | demo | ics | doctor`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TextIO

from bot.cli.agenda import add_agenda_parser
from bot.cli.broadcast import add_broadcast_parser
from bot.cli.check import add_check_parser
from bot.cli.common import Clock, Context, Handler
from bot.cli.doctor import add_doctor_parser
from bot.cli.ics import add_ics_parser
from bot.cli.worker import add_demo_parser, add_run_parser
from bot.clock import utcnow


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand; each names its handler (`args.handler`)."""
    parser = argparse.ArgumentParser(
        prog="summit-bot", description="Localized reminders and livestream links for events."
    )
    parser.add_argument("--version", action="version", version=f"summit-bot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_check_parser(sub)
    add_agenda_parser(sub)
    add_run_parser(sub)
    add_broadcast_parser(sub)
    add_demo_parser(sub)
    add_ics_parser(sub)
    add_doctor_parser(sub)
    return parser


def _version() -> str:
    """The installed release (a checkout that was never installed has none)."""
    try:
        return version("summit-bot")
    except PackageNotFoundError:
        return "(not installed: pip install -e .)"


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock = utcnow,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status. Every subcommand reads `clock`."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args, Context(out or sys.stdout, err or sys.stderr, clock))
