"""Sessions that cross midnight or last several days: loaded, listed, put in calendars, reminded.

An end earlier than the start is on the next day; `end_date` carries a longer session; only a
session of no length, one that ends before it starts, or one longer than a week is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from icalendar import Calendar

from bot.calendar import build_ics
from bot.config import Settings
from bot.schedule import Problem, Schedule, ScheduleError, parse_schedule
from bot.store import Store
from tests.support.harness import Harness

UTC = dt.UTC
MIN = dt.timedelta(minutes=1)

NIGHT = """\
event:
  id: night
  name: {en: Night Owls, zh-TW: 夜貓子}
  organizer: {en: Org, zh-TW: 主辦}
  timezone: Europe/Prague
  languages: [en, zh-TW]
sessions:
  - id: late
    title: {en: Late show, zh-TW: 深夜場}
    date: 2020-08-13
    start: "23:30"
    end: "00:30"
    streams: {en: "https://example.org/late"}
  - id: camp
    title: {en: Hack camp, zh-TW: 黑客營}
    date: 2020-08-14
    start: "10:00"
    end: "18:00"
    end_date: 2020-08-16
"""
LATE_START = dt.datetime(2020, 8, 13, 21, 30, tzinfo=UTC)  # 23:30 in Prague (UTC+2)
LATE_END = dt.datetime(2020, 8, 13, 22, 30, tzinfo=UTC)  # 00:30 on Friday 14 in Prague
CAMP_START = dt.datetime(2020, 8, 14, 8, 0, tzinfo=UTC)
CAMP_END = dt.datetime(2020, 8, 16, 16, 0, tzinfo=UTC)


def night() -> Schedule:
    """The night owls' schedule."""
    return parse_schedule(NIGHT, "night.yaml")


def problem_of(text: str) -> Problem:
    """The single problem the loader reports for `text`."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text, "night.yaml")
    (found,) = caught.value.problems
    return found


# --- the loader --------------------------------------------------------------------------------


def test_an_end_before_the_start_is_on_the_next_day() -> None:
    late = night().session("late")
    assert late is not None
    assert (late.start, late.end) == (LATE_START, LATE_END)
    assert late.date == dt.date(2020, 8, 13)  # the day it starts, in the event's zone


def test_end_date_carries_a_session_over_several_days() -> None:
    camp = night().session("camp")
    assert camp is not None
    assert (camp.start, camp.end) == (CAMP_START, CAMP_END)
    assert camp.date == dt.date(2020, 8, 14)


def test_a_night_across_a_daylight_saving_change_is_counted_in_real_time() -> None:
    # Clocks go back in Prague at 03:00 on 25 October 2020: 23:30 to 04:00 is 5½ hours.
    text = NIGHT.replace("2020-08-13", "2020-10-24").replace('"00:30"', '"04:00"')
    late = parse_schedule(text).session("late")
    assert late is not None and late.start is not None and late.end is not None
    assert late.end - late.start == dt.timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "says"),
    [
        # A session of no length.
        ('end: "00:30"', 'end: "23:30"', 12, "sessions[0].end", "no length"),
        # An end date before the day it starts.
        ("end_date: 2020-08-16", "end_date: 2020-08-13", 19, "sessions[1].end_date", "before"),
        # The last day given, but an end before the start on the same day.
        (
            'end: "18:00"\n    end_date: 2020-08-16',
            'end: "09:00"\n    end_date: 2020-08-14',
            19,
            "sessions[1].end_date",
            "not after",
        ),
        # More than a week.
        ("end_date: 2020-08-16", "end_date: 2020-08-22", 19, "sessions[1].end_date", "7 days"),
        # An end date with no end time.
        ('    end: "18:00"\n', "", 14, "sessions[1].end", "missing"),
    ],
)
def test_what_cannot_be_is_refused_with_line_and_field(
    old: str, new: str, line: int, field: str, says: str
) -> None:
    found = problem_of(NIGHT.replace(old, new))
    assert (found.file, found.line, found.field) == ("night.yaml", line, field), found
    assert says in found.message, found


def test_an_end_date_needs_a_start_time() -> None:
    text = NIGHT.replace('start: "10:00"\n    end: "18:00"\n', "start: tba\n")
    found = problem_of(text)
    assert found.field == "sessions[1].end_date" and "start time" in found.message


# --- what viewers see ------------------------------------------------------------------------


@pytest.fixture
async def owls(store: Store) -> AsyncIterator[Harness]:
    """The night owls' bot, the day before the late show, a viewer in Prague."""
    settings = replace(Settings(), delivery=replace(Settings().delivery, backoff_seconds=(1,)))
    harness = Harness(store, night(), settings, LATE_START - dt.timedelta(days=1))
    await harness.start()
    await harness.say("/timezone Prague")
    yield harness
    await harness.worker.stop()


async def test_the_agenda_lists_the_late_show_under_its_first_day(owls: Harness) -> None:
    agenda = await owls.say("/schedule")
    thursday = agenda.index("Thursday 13 August")
    friday = agenda.index("Friday 14 August")
    late = agenda.index("Late show")
    assert thursday < late < friday
    assert "Thu 13 Aug, 23:30–00:30" in agenda
    assert "1 hour" in agenda[late:friday]
    # A session of days shows the day it ends.
    assert "Fri 14 Aug, 10:00–Sun 16 Aug, 18:00" in agenda
    assert "2 days 8 hours" in agenda


async def test_the_reminder_and_the_calendar_end_on_the_next_day(owls: Harness) -> None:
    assert "Subscribed" in await owls.say("/subscribe late")
    sent = await owls.at(LATE_START - 10 * MIN)
    assert len(sent) == 1
    assert "Thu 13 Aug, 23:30–00:30" in sent[0][1].text
    # Half an hour into the show (after midnight, the next day in Prague) it is live, not over.
    owls.clock.now = LATE_START + dt.timedelta(minutes=45)
    card = await owls.say("/session late")
    assert "live now" in card and "ended" not in card

    calendar = Calendar.from_ical(build_ics(night(), None, "en", now=LATE_START))
    found = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    late, camp = found["late@night.summit-bot"], found["camp@night.summit-bot"]
    assert late["DTEND"].params["TZID"] == "Europe/Prague"
    assert late.decoded("DTEND") == LATE_END
    assert late.decoded("DTEND").astimezone(late.decoded("DTSTART").tzinfo).day == 14
    assert camp.decoded("DTEND") == CAMP_END
