"""iCalendar feeds (RFC 5545) as calendar apps and event sites publish them, read with the
icalendar library: times with a TZID (a standard zone or the file's own VTIMEZONE), in UTC,
floating (the event's zone, which the overlay then names) and all-day events (kept in the
agenda, never reminded of at midnight).

A recurring event (`RRULE`, `RDATE`, with moved occurrences under `RECURRENCE-ID`) is expanded
by recurring-ical-events into one talk per occurrence within a year of the feed's first event;
each keeps its id across imports (its UID and the occurrence it replaces).

Links: RFC 7986 `CONFERENCE`, then `URL`, then `LOCATION` where they are http(s), in that
order, are taken as the talk's stream; a `LOCATION` that is no link is its room. A cancelled
event (`STATUS:CANCELLED`) is left out. A problem names the event by its UID and SUMMARY.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from bot.schedule.imported import Imported, Talk, http_link, text_of
from bot.schedule.problems import Problem, ScheduleError
from bot.timezones import ZONE_NAMES

FORMAT = "iCalendar"
# How far past the feed's first event a recurring one is expanded, and at most how many
# occurrences of each: a weekly meetup's year.
HORIZON = dt.timedelta(days=366)
MAX_OCCURRENCES = 400


def looks_like(text: str) -> bool:
    """Whether a text is an iCalendar stream."""
    return text.lstrip()[:15].upper().startswith("BEGIN:VCALENDAR")


def _values(component: Any, name: str) -> list[Any]:
    """A property's values: one or many (CONFERENCE may repeat)."""
    found = component.get(name)
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _moment(value: Any) -> tuple[dt.datetime | None, bool]:
    """A DTSTART/DTEND as a datetime (midnight for a date) and whether it was a date."""
    if value is None:
        return None, False
    when = value.dt
    if isinstance(when, dt.datetime):
        return when, False
    if isinstance(when, dt.date):
        return dt.datetime.combine(when, dt.time()), True
    return None, False


def _line_of(lines: list[str], uid: str | None) -> int:
    """The line the event's UID is written on (unfolded lines are close enough)."""
    if uid:
        for number, line in enumerate(lines, start=1):
            if line.upper().startswith("UID") and line.rstrip().endswith(uid):
                return number
    return 1


def _zone_of(talks: list[Talk], named: str | None) -> str | None:
    """The feed's zone: X-WR-TIMEZONE, else the one zone every talk's TZID names."""
    if named in ZONE_NAMES:
        return named
    keys = {
        t.start.tzinfo.key
        for t in talks
        if t.start is not None and isinstance(t.start.tzinfo, ZoneInfo)
    }
    if len(keys) == 1:
        key = keys.pop()
        return key if key in ZONE_NAMES else None
    return None


def _first_start(calendar: icalendar.Calendar) -> dt.datetime | None:
    """The earliest start written in the feed (UTC for comparison), where the expansion begins."""
    found: list[dt.datetime] = []
    for event in calendar.walk("VEVENT"):
        start, _ = _moment(event.get("DTSTART"))
        if start is not None:
            found.append(start if start.tzinfo else start.replace(tzinfo=dt.UTC))
    return min((s.astimezone(dt.UTC) for s in found), default=None)


def _recurring(calendar: icalendar.Calendar) -> set[str]:
    """The UIDs of events that recur (or of which one occurrence was moved), but for a
    cancelled series, which is not expanded at all."""
    return {
        str(event.get("UID"))
        for event in calendar.walk("VEVENT")
        if any(name in event for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
        and not (("RRULE" in event) and _cancelled(event))
    }


def _cancelled(event: Any) -> bool:
    return (text_of(event.get("STATUS")) or "").upper() == "CANCELLED"


def _occurrences(calendar: icalendar.Calendar, recurring: set[str]) -> Iterator[Any]:
    """Every event, a recurring one once per occurrence within HORIZON of the feed's first
    start (at most MAX_OCCURRENCES of each: never an RRULE of every second, forever)."""
    for event in calendar.walk("VEVENT"):
        if str(event.get("UID")) not in recurring:
            yield event
    first = _first_start(calendar)
    if first is None or not recurring:
        return
    begin = (first - dt.timedelta(days=1)).replace(tzinfo=None)
    until = first + HORIZON
    zones = calendar.walk("VTIMEZONE")
    for uid in sorted(recurring):
        # One recurring event at a time, with the zones it may name: one cannot starve another.
        single = icalendar.Calendar()
        for component in (*zones, *(e for e in calendar.walk("VEVENT") if e.get("UID") == uid)):
            single.add_component(component)
        expanded = recurring_ical_events.of(single).after(begin)
        for event in itertools.islice(expanded, MAX_OCCURRENCES):
            start, _ = _moment(event.get("DTSTART"))
            if start is not None and start.replace(tzinfo=start.tzinfo or dt.UTC) > until:
                break
            yield event


def read(text: str, file: str) -> Imported:
    """The events of an iCalendar feed."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError) as exc:
        message = f"not a readable iCalendar file ({exc}); check the export"
        raise ScheduleError([Problem(file, 1, "(syntax)", message)]) from None
    lines = text.splitlines()
    problems: list[Problem] = []
    talks: list[Talk] = []
    recurring = _recurring(calendar)
    try:
        events = list(_occurrences(calendar, recurring))
    except (ValueError, TypeError) as exc:  # an RRULE the expansion cannot follow
        message = f"a recurring event cannot be expanded ({exc}); check its RRULE"
        raise ScheduleError([Problem(file, 1, "RRULE", message)]) from None
    for event in events:
        uid = text_of(event.get("UID"))
        summary = text_of(event.get("SUMMARY")) or "(no title)"
        where = f'VEVENT UID={uid or "?"} "{summary}"'
        line = _line_of(lines, uid)
        if _cancelled(event):
            continue
        try:
            start, all_day = _moment(event.get("DTSTART"))
            end, _ = _moment(event.get("DTEND"))
        except (ValueError, TypeError) as exc:
            problems.append(Problem(file, line, f"{where}: DTSTART", f"unreadable time: {exc}"))
            continue
        if start is None:
            message = "missing; an event needs a start, e.g. DTSTART:20261024T100000Z"
            problems.append(Problem(file, line, f"{where}: DTSTART", message))
            continue
        duration = event.get("DURATION")
        if end is None and duration is not None and isinstance(duration.dt, dt.timedelta):
            end = start + duration.dt
        if end is None and all_day:
            end = start + dt.timedelta(days=1)
        # Each occurrence of a recurring event is a talk of its own, named by the occurrence it
        # stands for (RECURRENCE-ID), so that moving one keeps its id.
        key = uid or f"{summary}@{start.isoformat()}"
        recurrence, _ = _moment(event.get("RECURRENCE-ID"))
        if uid in recurring and recurrence is not None:
            instant = recurrence.astimezone(dt.UTC) if recurrence.tzinfo else recurrence
            key = f"{key}@{instant:%Y%m%dT%H%M%S}"
        links = [http_link(v) for v in _values(event, "CONFERENCE")]
        links += [http_link(event.get("URL")), http_link(event.get("LOCATION"))]
        location = text_of(event.get("LOCATION"))
        categories = event.get("CATEGORIES")
        track = None
        if categories is not None:
            first = categories[0] if isinstance(categories, list) else categories
            track = next(iter(getattr(first, "cats", []) or []), None)
        talks.append(
            Talk(
                key=key,
                title=summary,
                where=where,
                line=line,
                start=start,
                end=end,
                all_day=all_day,
                abstract=text_of(event.get("DESCRIPTION")),
                room=location if location and not http_link(location) else None,
                track=text_of(track),
                links=tuple(link for link in links if link),
            )
        )
    if problems:
        raise ScheduleError(problems)
    name = text_of(calendar.get("X-WR-CALNAME")) or text_of(calendar.get("NAME"))
    return Imported(
        format=FORMAT,
        file=file,
        title=name,
        timezone=_zone_of(talks, text_of(calendar.get("X-WR-TIMEZONE"))),
        url=http_link(calendar.get("URL")),
        talks=tuple(talks),
    )
