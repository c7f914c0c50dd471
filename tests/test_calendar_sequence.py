"""The .ics keeps working: a VTIMEZONE valid whenever its sessions are, and a SEQUENCE that goes
up by one for each real change of a session, the same from `/calendar` and `summit-bot ics`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest
from icalendar import Calendar
from icalendar.cal import Component

from bot.calendar import build_ics
from bot.cli.common import Context
from bot.cli.ics import add_ics_parser, cmd_ics
from bot.schedule import parse_schedule
from bot.timezones import get_zone
from tests.support.harness import Harness
from tests.support.schedule_files import ORGANIZER, edit
from tests.test_midnight_sessions import NIGHT

# The schedule-change tests' rig, not a copy: pytest finds fixtures among a module's names.

BUILT = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def read(data: bytes) -> Calendar:
    """The .ics read back by icalendar, as a calendar app would."""
    return Calendar.from_ical(data)


def sequences(data: bytes) -> dict[str, int]:
    """Each VEVENT's SEQUENCE, by session id."""
    found: dict[str, int] = {}
    for event in read(data).walk("VEVENT"):
        value = event.decoded("SEQUENCE")
        assert isinstance(value, int)
        found[str(event["UID"]).split("@")[0]] = value
    return found


# --- the VTIMEZONE ---------------------------------------------------------------------------


def offsets_agree(zone: Component, name: str, first: dt.datetime, last: dt.datetime) -> None:
    """The VTIMEZONE gives the zone's own offset at every hour from `first` to `last`."""
    defined = zone.to_tz()
    real = get_zone(name)
    at = first
    while at <= last:
        wall = at.astimezone(real).replace(tzinfo=None)
        assert wall.replace(tzinfo=defined).utcoffset() == at.astimezone(real).utcoffset(), at
        at += dt.timedelta(hours=1)


def test_a_session_in_2031_gets_a_zone_valid_then_and_no_limiting_comment() -> None:
    # Late show on 31 December 2031 into 2032; the camp in summer time (CEST, UTC+2).
    text = NIGHT.replace("2020-08-13", "2031-12-31")
    text = text.replace("2020-08-14", "2031-07-14").replace("2020-08-16", "2031-07-16")
    schedule = parse_schedule(text)
    data = build_ics(schedule, None, "en", now=BUILT)
    calendar = read(data)
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Prague"
    assert "COMMENT" not in zone and b"only works" not in data
    for event in calendar.walk("VEVENT"):
        for prop in ("DTSTART", "DTEND"):
            wall = event[prop].dt.replace(tzinfo=None)  # as written: TZID and a wall time
            instant = event.decoded(prop)
            assert wall.replace(tzinfo=zone.to_tz()).utcoffset() == instant.utcoffset()
    camp = {str(e["UID"]): e for e in calendar.walk("VEVENT")}["camp@night.summit-bot"]
    assert camp.decoded("DTSTART").utcoffset() == dt.timedelta(hours=2)
    # Right for the whole year before the first session and years after the last one.
    offsets_agree(
        zone,
        "Europe/Prague",
        dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2034, 12, 31, tzinfo=dt.UTC),
    )


# --- SEQUENCE --------------------------------------------------------------------------------


def ics_args(schedule: Path) -> argparse.Namespace:
    """`summit-bot ics --schedule PATH` as its parser reads it."""
    parser = argparse.ArgumentParser(prog="summit-bot")
    add_ics_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["ics", "--schedule", str(schedule)])


def comment(path: Path) -> None:
    """Add a comment line at the top of the file."""
    path.write_text("# checked\n" + path.read_text("utf-8"), "utf-8")


async def exported(schedule: Path, now: dt.datetime) -> dict[str, int]:
    """What `summit-bot ics` writes, on the worker's database (DATABASE_URL), as SEQUENCEs."""
    raw = io.BytesIO()
    out, err = io.TextIOWrapper(raw, encoding="utf-8"), io.StringIO()
    # Its own thread: the command runs its own event loop, as it does from a shell.
    code = await asyncio.to_thread(cmd_ics, ics_args(schedule), Context(out, err, lambda: now))
    assert code == 0, err.getvalue()
    return sequences(raw.getvalue())


async def calendar_of(bot: Harness) -> dict[str, int]:
    """What `/calendar all` attaches, as SEQUENCEs."""
    (message,) = (await bot.reply("/calendar all", chat_id=ORGANIZER)).messages
    assert message.attachment is not None
    return sequences(message.attachment.data)


async def test_sequence_goes_up_by_one_per_real_change_in_chat_and_on_the_command_line(
    live: Harness, schedule_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    first = await calendar_of(live)
    assert first == dict.fromkeys(("s1", "s2", "s3", "ctalk1", "ctalk2", "ctalk3"), 0)
    # Exported again, a day later, with no change: the same SEQUENCE, in chat and from the CLI.
    live.clock.now += DAY
    assert await calendar_of(live) == first
    assert await exported(schedule_file, live.clock.now) == first

    # Session 2 moves an hour later. Exported before the worker has read the file, and after.
    edit(schedule_file, "s2", 'start: "07:00"', 'start: "08:00"')
    moved = {**first, "s2": 1}
    assert await exported(schedule_file, live.clock.now) == moved
    await live.worker.reload(actor="test")
    assert await calendar_of(live) == moved
    assert await exported(schedule_file, live.clock.now + DAY) == moved

    # A comment is no change to any session; moving it back is a second change.
    comment(schedule_file)
    await live.worker.reload(actor="test")
    assert await calendar_of(live) == moved
    edit(schedule_file, "s2", 'start: "08:00"', 'start: "07:00"')
    await live.worker.reload(actor="test")
    assert await calendar_of(live) == {**first, "s2": 2}
    assert await exported(schedule_file, live.clock.now) == {**first, "s2": 2}
