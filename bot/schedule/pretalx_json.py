"""The schedule.json of pretalx, frab and the C3VOC tools (voc/schedule's JSON schema), read
liberally: optional fields missing, `null`s, extra fields, durations "01:30" or "1:30:00".

Both layouts are read: the classic one (`conference.days[].rooms{room: [events]}`, each event
with `date`, `start` and `duration`) and schedule2's flat `schedule.events[]` with `start` and
`end` instants. A problem names the event by its JSON path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.schedule.imported import (
    Imported,
    Talk,
    http_link,
    is_service_kind,
    on_day,
    parse_date,
    parse_datetime,
    parse_duration,
    text_of,
)
from bot.schedule.problems import Problem, ScheduleError

FORMAT = "pretalx/frab schedule JSON"
_SHAPE = 'expected {"schedule": {"conference": {"title": ..., "days": [...]}}} (voc/schedule)'


def looks_like(data: Any) -> bool:
    """Whether parsed JSON is a schedule.json."""
    return isinstance(data, dict) and isinstance(data.get("schedule"), dict)


def _name(value: Any) -> str | None:
    """A room's, a track's or a person's name, given as a string or as an object."""
    if isinstance(value, dict):
        return text_of(value.get("name") or value.get("public_name") or value.get("full_name"))
    return text_of(value)


def _localized(value: Any) -> str | None:
    """A text given as a string, or as {en: ..., de: ...} (the first one given)."""
    if isinstance(value, dict):
        return next((t for t in map(text_of, value.values()) if t), None)
    return text_of(value)


def _persons(event: dict[str, Any]) -> tuple[str, ...]:
    people = event.get("persons") or event.get("participants") or []
    if not isinstance(people, list):
        return ()
    names = (_name(person) for person in people)
    return tuple(name for name in names if name)


def _key(event: dict[str, Any]) -> str | None:
    """The talk's own id: pretalx's code, frab's id, else its guid or slug."""
    for field in ("code", "id", "guid", "slug"):
        value = text_of(event.get(field))
        if value:
            return value
    return None


def _language(value: Any) -> str | None:
    text = text_of(value)
    return text.lower() if text else None


class EventReader:
    """Reads the events of one schedule.json (or, as dicts, of a schedule.xml), collecting
    every problem."""

    def __init__(self, file: str, zone_known: bool) -> None:
        self.file = file
        self.zone_known = zone_known
        self.problems: list[Problem] = []
        self.line = 1  # the line of the event being read, where the format has lines

    def fail(self, path: str, message: str) -> None:
        """Note a problem of the event being read."""
        self.problems.append(Problem(self.file, self.line, path, message))

    def talk(
        self,
        event: Any,
        path: str,
        *,
        room: str | None = None,
        day: dt.date | None = None,
        day_start: dt.datetime | None = None,
    ) -> Talk | None:
        """The talk an event describes, or None after noting why it cannot be read."""
        if not isinstance(event, dict):
            self.fail(path, "expected an event object with guid, title, date, duration")
            return None
        key = _key(event)
        if key is None:
            self.fail(f"{path}.guid", "missing; an event needs a guid, id or code to follow it")
            return None
        start = self.start(event, path, day, day_start)
        if start is None:
            return None
        end = parse_datetime(event.get("end"))
        if end is None and event.get("duration") is not None:
            length = parse_duration(event.get("duration"))
            if length is None:
                value = event.get("duration")
                self.fail(f"{path}.duration", f'"{value}" is not a length; write e.g. "01:30"')
                return None
            end = start + length
        if end is not None and (end.tzinfo is None) != (start.tzinfo is None):
            end = end.replace(tzinfo=start.tzinfo) if end.tzinfo is None else None
        title = text_of(event.get("title")) or text_of(event.get("slug")) or key
        return Talk(
            key=key,
            title=title,
            where=path,
            line=self.line,
            start=start,
            end=end,
            abstract=_localized(event.get("abstract")) or _localized(event.get("description")),
            room=_name(event.get("room")) or room,
            track=_name(event.get("track")),
            language=_language(event.get("language")),
            persons=_persons(event),
            service=is_service_kind(event.get("type")),
        )

    def start(
        self,
        event: dict[str, Any],
        path: str,
        day: dt.date | None,
        day_start: dt.datetime | None,
    ) -> dt.datetime | None:
        """The instant a talk starts: its `date` (an instant with offset, pretalx and frab),
        else a `start` instant (schedule2), else `start` as a time of its day."""
        for field in ("date", "start"):
            found = parse_datetime(event.get(field))
            if found is not None:
                return found
        clock = event.get("start")
        base = parse_date(event.get("date")) or day
        if base is not None and clock is not None:
            found = on_day(base, clock, day_start)
            if found is not None:
                if not self.zone_known and day_start is not None and day_start.tzinfo:
                    # No zone named: the day's own offset is the best reading of its times.
                    return found.replace(tzinfo=day_start.tzinfo)
                return found
        shown = clock if clock is not None else event.get("date")
        self.fail(
            f"{path}.start",
            f'"{shown}" is not a start; write "date": "2026-10-24T10:00:00+02:00" '
            'or "start": "10:00" on a day with a date',
        )
        return None


def read(data: Any, file: str) -> Imported:
    """The talks of a schedule.json."""
    schedule = data.get("schedule") if isinstance(data, dict) else None
    conference = schedule.get("conference") if isinstance(schedule, dict) else None
    if not isinstance(schedule, dict) or not isinstance(conference, dict):
        raise ScheduleError([Problem(file, 1, "schedule.conference", _SHAPE)])
    zone = text_of(conference.get("time_zone_name"))
    reader = EventReader(file, zone_known=zone is not None)
    talks: list[Talk] = []
    days = conference.get("days") or []
    if not isinstance(days, list):
        reader.fail("schedule.conference.days", "expected a list of days")
        days = []
    for d, day in enumerate(days):
        base = f"schedule.conference.days[{d}]"
        if not isinstance(day, dict):
            reader.fail(base, "expected a day object with date and rooms")
            continue
        date = parse_date(day.get("date"))
        day_start = parse_datetime(day.get("day_start") or day.get("start"))
        rooms = day.get("rooms") or {}
        if not isinstance(rooms, dict):
            reader.fail(f"{base}.rooms", 'expected {"Room name": [events]}')
            continue
        for room, events in rooms.items():
            if not isinstance(events, list):
                reader.fail(f'{base}.rooms["{room}"]', "expected a list of events")
                continue
            for e, event in enumerate(events):
                path = f'{base}.rooms["{room}"][{e}]'
                talk = reader.talk(event, path, room=text_of(room), day=date, day_start=day_start)
                if talk is not None:
                    talks.append(talk)
    flat = schedule.get("events") or []
    if isinstance(flat, list):  # schedule2: one list of events with start and end instants
        for e, event in enumerate(flat):
            talk = reader.talk(event, f"schedule.events[{e}]")
            if talk is not None:
                talks.append(talk)
    if reader.problems:
        raise ScheduleError(reader.problems)
    return Imported(
        format=FORMAT,
        file=file,
        title=text_of(conference.get("title")),
        acronym=text_of(conference.get("acronym")),
        timezone=zone,
        url=http_link(conference.get("url")),
        talks=tuple(talks),
    )
