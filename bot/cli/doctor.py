"""`summit-bot doctor`: config, schedule, database and every platform token, checked without
starting the worker; one line each, ✓ (good), ✗ (wrong, with what to do) or · (not set up)."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bot.adapters import TOKENS
from bot.adapters.probe import BotIdentity, ProbeError
from bot.cli.common import Context, Subcommands, add_common, database_missing
from bot.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings
from bot.schedule import ScheduleError, load_source
from bot.store import current_revision, mask_password, normalize_database_url
from bot.store.migrate import known_revisions
from bot.yaml_lines import Problem

GOOD, BAD, UNSET = "✓", "✗", "·"
TIMEOUT = 10.0  # seconds per network check: a silent server must not hang the doctor
Probe = Callable[[Mapping[str, str], Settings], Awaitable[BotIdentity]]


def add_doctor_parser(sub: Subcommands) -> None:
    """Add `summit-bot doctor`."""
    doctor = sub.add_parser(
        "doctor",
        help="check the config, the schedule, the database and each token in the environment, "
        "without starting the worker; exit 1 if anything is wrong",
    )
    add_common(doctor)
    doctor.set_defaults(handler=cmd_doctor)


class Report:
    """The doctor's lines as they are found, and whether any was wrong."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.wrong = False

    def line(self, mark: str, subject: str, text: str) -> None:
        """Print one finding (a ✗ makes the exit status 1)."""
        self.wrong = self.wrong or mark == BAD
        print(f"{mark} {subject}: {text}", file=self.out, flush=True)


def cmd_doctor(args: argparse.Namespace, context: Context) -> int:
    """Check everything a start needs, one line each; 0 when nothing is wrong."""
    report = Report(context.out)
    settings = _config(args, report)
    if settings is None:
        report.line(UNSET, "schedule", "not checked: the config comes first")
        report.line(UNSET, "database", "not checked: the config comes first")
    else:
        _schedule(args, settings, report)
        asyncio.run(_database(settings, report))
    # A token is checked even when the config is wrong: its defaults suffice to ask who it is.
    asyncio.run(_platforms(os.environ, settings or Settings(), report))
    return 1 if report.wrong else 0


def _first_problem(exc: Exception, problems: Sequence[Problem]) -> str:
    """One line for a file's errors: the first, how many more, and where to see them all."""
    first = problems[0] if problems else exc
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first}{more}; `summit-bot check` lists every problem"


def _config(args: argparse.Namespace, report: Report) -> Settings | None:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        report.line(BAD, "config", _first_problem(exc, exc.problems))
        return None
    used = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    report.line(GOOD, "config", f"{used}" if used else f"no {DEFAULT_CONFIG}: the defaults")
    return settings


def _schedule(args: argparse.Namespace, settings: Settings, report: Report) -> None:
    try:
        schedule = load_source(
            args.schedule or settings.schedule, args.overlay or settings.schedule_overlay or None
        )
    except ScheduleError as exc:
        report.line(BAD, "schedule", _first_problem(exc, exc.problems))
        return
    timed = sum(1 for s in schedule.sessions if s.start)
    report.line(
        GOOD,
        "schedule",
        f"{schedule.source}: {len(schedule.sessions)} sessions ({timed} with a time), "
        f"languages {', '.join(schedule.event.languages)}",
    )


async def _database(settings: Settings, report: Report) -> None:
    """Where the database is and its schema's revision; never created or migrated here."""
    try:
        missing = database_missing(settings)
        if missing is not None:
            report.line(UNSET, "database", f"none yet at {missing}; `summit-bot run` creates it")
            return
        url = normalize_database_url(settings.database_url, Path(settings.data_dir))
        shown = mask_password(settings.database_url or url)
        revision = await asyncio.wait_for(current_revision(url), TIMEOUT)
    except Exception as exc:  # whatever the driver says, it is one line for the operator
        report.line(
            BAD,
            "database",
            f"cannot open it ({type(exc).__name__}: {mask_password(str(exc))}); "
            "check DATABASE_URL (or data_dir) and that the server runs",
        )
        return
    known = known_revisions()
    if revision is None:
        report.line(GOOD, "database", f"{shown}: empty; `summit-bot run` creates the tables")
    elif revision == known[-1]:
        report.line(GOOD, "database", f"{shown}: revision {revision}, up to date")
    elif revision in known:
        report.line(
            GOOD,
            "database",
            f"{shown}: revision {revision}; the next start migrates it to {known[-1]}",
        )
    else:
        report.line(
            BAD,
            "database",
            f"{shown}: revision {revision}, which this release does not know (a newer "
            "release wrote it); run that release, or a newer one",
        )


async def _platforms(env: Mapping[str, str], settings: Settings, report: Report) -> None:
    """Each platform whose token is set is asked who it is; the others are said to be off."""
    probes = {"telegram": _telegram_probe, "discord": _discord_probe}
    for var, platform in TOKENS.items():
        if not env.get(var, "").strip():
            report.line(
                UNSET,
                platform,
                f"{var} is not set: {platform.capitalize()} is off (the console and "
                "`summit-bot demo` need no token)",
            )
            continue
        try:
            identity = await asyncio.wait_for(probes[platform](env, settings), TIMEOUT)
        except (ConfigError, ProbeError) as exc:
            report.line(BAD, platform, str(exc))
            continue
        except TimeoutError:
            report.line(BAD, platform, "no answer in time; check the network and the base URL")
            continue
        shown = identity.name + (f" ({identity.display})" if identity.display else "")
        report.line(GOOD, platform, shown + (f"; {identity.note}" if identity.note else ""))
        _organizers(platform, settings, report)


def _organizers(platform: str, settings: Settings, report: Report) -> None:
    """Say so when nobody may run the organizer commands on a platform that is on."""
    organizers = settings.organizers
    keys = {
        "telegram": {"telegram_user_ids": organizers.telegram_user_ids},
        "discord": {
            "discord_user_ids": organizers.discord_user_ids,
            "discord_role_ids": organizers.discord_role_ids,
        },
    }[platform]
    if not any(keys.values()):
        report.line(
            UNSET,
            f"organizers.{' / '.join(keys)}",
            f"empty: nobody may use /broadcast, /stats or /reload on {platform.capitalize()}; "
            "add your numeric user id there",
        )


async def _telegram_probe(env: Mapping[str, str], settings: Settings) -> BotIdentity:
    # Imported when a token asks for it, as `run` does: the SDK loads only when used.
    from bot.adapters.telegram.probe import probe

    return await probe(env, settings, call_timeout=TIMEOUT / 2)


async def _discord_probe(env: Mapping[str, str], settings: Settings) -> BotIdentity:
    from bot.adapters.discord.probe import probe

    return await probe(env, settings)
