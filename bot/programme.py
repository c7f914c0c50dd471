"""The programme at conference scale: a schedule indexed by the reader's day, room, track and
words, and the views viewers read of it (one day, what is on now, what a search found).

Hundreds of talks in dozens of rooms: each view is built from an index made once per
schedule (and per zone for days), so that a command costs a lookup and a page of text,
never a walk over every talk with a date formatted for each.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.groups import ROOM, match_name, split_marker
from bot.i18n import t
from bot.i18n.formatting import format_date, format_full_date, format_time, local
from bot.messages import Button, Message
from bot.render import Reader, render_agenda, stream_links, text, zone_line
from bot.schedule import Schedule, Session
from bot.timezones.folding import fold

FIND_LIMIT = 10  # talks a search lists; the rest are counted
# Up to this many sessions, a bare /schedule shows the whole agenda with every detail, as
# it always did: it reads well for an event of a few sessions, and one day of a conference
# of hundreds would not fit a message.
SMALL_SCHEDULE = 20
_DIGITS = re.compile(r"(\d+)")


@lru_cache(maxsize=8192)
def clock_time(instant: dt.datetime, zone: str, lang: str) -> str:
    """ "14:00" for a reader: a few hundred talks share a few dozen start and end times, and
    CLDR formatting costs a fraction of a millisecond each."""
    return format_time(instant, zone, lang)


def natural_key(name: str) -> tuple[object, ...]:
    """Sort "Room 2" before "Room 10"."""
    return tuple(int(p) if p.isdigit() else p.casefold() for p in _DIGITS.split(name))


@dataclass(frozen=True)
class Filter:
    """One room or one track of the programme, as the schedule names it."""

    kind: str  # ROOM or TRACK
    name: str

    def action(self) -> str:
        """The filter as a command argument, for buttons: "track:Data Science"."""
        return f"{self.kind}:{self.name}"

    def keeps(self, session: Session) -> bool:
        """Whether the talk is in this room or track."""
        return (session.room if self.kind == ROOM else session.track) == self.name


@dataclass
class Programme:
    """A schedule indexed for the conference-scale views (built once per schedule)."""

    schedule: Schedule
    rooms: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)
    _haystacks: list[tuple[Session, str]] = field(default_factory=list)
    _days: dict[str, dict[dt.date, list[Session]]] = field(default_factory=dict)
    _by_room: dict[str | None, list[Session]] = field(default_factory=dict)
    _by_id: dict[str, Session] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rooms: set[str] = set()
        tracks: set[str] = set()
        for session in self.schedule.sessions:
            self._by_id[session.id] = session
            if session.room:
                rooms.add(session.room)
            if session.track:
                tracks.add(session.track)
            if session.start is not None:
                self._by_room.setdefault(session.room, []).append(session)
            words = [session.id, *(value for _, value in session.title.values)]
            for person in (session.host, *session.speakers):
                if person is not None:
                    words.extend(value for _, value in person.name.values)
            words.extend(w for w in (session.room, session.track) if w)
            self._haystacks.append((session, " " + fold(" ".join(words)) + " "))
        self.rooms = sorted(rooms, key=natural_key)
        self.tracks = sorted(tracks, key=natural_key)
        for talks in self._by_room.values():
            talks.sort(key=lambda s: (s.start, s.id))

    def session(self, session_id: str) -> Session | None:
        """The talk with this id (a dictionary lookup, not a walk)."""
        return self._by_id.get(session_id)

    def names(self, kind: str) -> list[str]:
        """The rooms' or the tracks' names."""
        return self.rooms if kind == ROOM else self.tracks

    def group(self, kind: str, typed: str) -> Filter | None:
        """The room or track a viewer typed, ignoring case and accents."""
        name = match_name(typed, self.names(kind))
        return None if name is None else Filter(kind, name)

    def days(self, zone: str) -> dict[dt.date, list[Session]]:
        """The talks by the reader's calendar day, in order (cached per zone)."""
        found = self._days.get(zone)
        if found is None:
            found = {}
            for session in self.schedule.sessions:
                day = local(session.start, zone).date() if session.start else session.date
                found.setdefault(day, []).append(session)
            found = dict(sorted(found.items()))
            self._days[zone] = found
        return found

    def find(self, words: Sequence[str]) -> list[Session]:
        """Talks whose id, title, speakers, room or track hold every word (accents and case
        ignored; a word matches the start of a word: "sec" finds "Security")."""
        keys = [" " + key for key in (fold(word) for word in words) if key]
        if not keys:
            return []
        return [s for s, hay in self._haystacks if all(key in hay for key in keys)]

    def now_and_next(
        self, now: dt.datetime
    ) -> list[tuple[str | None, Session | None, Session | None]]:
        """Per room (None: the event's one stage), the talk on now and the next one."""
        found = []
        rooms: list[str | None] = [*self.rooms, None]
        for room in rooms:
            on = upcoming = None
            for session in self._by_room.get(room, ()):
                assert session.start is not None  # only timed talks are indexed by room
                if session.start <= now and not session.is_over(now):
                    on = on or session
                elif session.start > now:
                    upcoming = session
                    break
            if on or upcoming:
                found.append((room, on, upcoming))
        return found


_lock = threading.Lock()
_cached: tuple[Schedule, Programme] | None = None


def programme(schedule: Schedule) -> Programme:
    """The programme of this schedule, indexed once (the schedule in force changes rarely)."""
    global _cached
    with _lock:
        if _cached is None or _cached[0] is not schedule:
            _cached = (schedule, Programme(schedule))
        return _cached[1]


def group_label(kind: str, name: str, lang: str) -> str:
    """A track or room named for a reader: "the track “Security”"."""
    return t(f"scale.group_{kind}", lang, name=name)


def marker_label(prog: Programme, stored: str, lang: str) -> str | None:
    """A stored track or room subscription as the reader reads it (None: not one)."""
    found = split_marker(stored)
    if found is None:
        return None
    kind, key = found
    names = {fold(name): name for name in prog.names(kind)}
    return group_label(kind, names.get(key, key), lang)


# --- views -----------------------------------------------------------------------------------


def _where(session: Session, lang: str) -> str:
    """ "Hall A · Security": the room and track, where the schedule gives them."""
    parts = [p for p in (session.room, session.track) if p]
    return t("agenda.sep", lang).join(parts)


def talk_line(
    session: Session, reader: Reader, schedule: Schedule, *, when: str = "", who: bool = False
) -> str:
    """One talk on one line: "• Title · Hall A · Security [t0012]" (with its time and its
    speakers where asked: a search matches them too)."""
    lang = reader.lang
    speakers = ", ".join(text(p.name, reader, schedule) for p in session.speakers) if who else ""
    title = text(session.title, reader, schedule)
    parts = [p for p in (when, title, speakers, _where(session, lang)) if p]
    return t("scale.talk", lang, talk=t("agenda.sep", lang).join(parts), id=session.id)


def day_message(
    prog: Programme,
    reader: Reader,
    day: dt.date,
    *,
    chosen: bool,
    only: Filter | None = None,
) -> Message:
    """One day of the programme (or of one room or track), talks grouped by start time,
    with buttons to the day before and the day after that hold talks."""
    schedule = prog.schedule
    lang = reader.lang
    days = prog.days(reader.zone)
    lines = [zone_line(reader, schedule, chosen=chosen), ""]
    talks = [s for s in days.get(day, ()) if only is None or only.keeps(s)]
    heading = format_full_date(day, lang)
    if only is not None:
        heading = t(f"scale.day_{only.kind}", lang, day=heading, name=only.name)
    lines.append(t("scale.day_heading", lang, day=heading, count=len(talks)))
    slot = None
    for session in talks:
        if session.start is None:
            label = t("session.time_tba", lang)
        else:
            label = clock_time(session.start, reader.zone, lang)
        if label != slot:
            lines.extend(("", t("scale.slot", lang, time=label)))
            slot = label
        lines.append(talk_line(session, reader, schedule))
    if not talks:
        lines.append(t("scale.day_empty", lang))
    lines.extend(("", t("scale.day_footer", lang)))
    kept = [d for d, ss in days.items() if only is None or any(only.keeps(s) for s in ss)]
    before = [d for d in kept if d < day]
    after = [d for d in kept if d > day]
    suffix = f" {only.action()}" if only else ""
    row = []
    if before:
        label = t("scale.previous_day", lang, day=format_date(before[-1], lang))
        row.append(Button(label, f"schedule {before[-1].isoformat()}{suffix}"))
    if after:
        label = t("scale.next_day", lang, day=format_date(after[0], lang))
        row.append(Button(label, f"schedule {after[0].isoformat()}{suffix}"))
    return Message(
        "\n".join(lines),
        title=text(schedule.event.name, reader, schedule),
        buttons=(tuple(row),) if row else (),
    )


def default_day(prog: Programme, zone: str, now: dt.datetime) -> dt.date | None:
    """The day /schedule opens on: today when it holds talks, else the next day that does,
    else the last day of the programme (None: no talks at all)."""
    days = list(prog.days(zone))
    if not days:
        return None
    today = local(now, zone).date()
    return next((d for d in days if d >= today), days[-1])


def opening_view(schedule: Schedule, reader: Reader, now: dt.datetime, *, chosen: bool) -> Message:
    """What a bare /schedule shows: a small event whole, a conference's day (the reader's
    today, else the next day with talks)."""
    if len(schedule.sessions) <= SMALL_SCHEDULE:
        return render_agenda(schedule, reader, now, zone_chosen=chosen)
    prog = programme(schedule)
    day = default_day(prog, reader.zone, now)
    if day is None:
        return render_agenda(schedule, reader, now, zone_chosen=chosen)
    return day_message(prog, reader, day, chosen=chosen)


def now_message(prog: Programme, reader: Reader, now: dt.datetime) -> Message:
    """What is on in each room now, and what is next, with the stream links."""
    schedule = prog.schedule
    lang = reader.lang
    rooms = prog.now_and_next(now)
    clock = format_time(now, reader.zone, lang)
    title = t("scale.now_title", lang, time=clock, place=reader.here())
    if not rooms:
        return Message(t("scale.now_nothing", lang), title=title)
    lines: list[str] = []

    def when(session: Session) -> str:
        assert session.start is not None
        if local(session.start, reader.zone).date() == local(now, reader.zone).date():
            return clock_time(session.start, reader.zone, lang)
        return t(
            "time.date_time",
            lang,
            date=format_date(local(session.start, reader.zone).date(), lang),
            time=clock_time(session.start, reader.zone, lang),
        )

    for room, on, upcoming in rooms:
        lines.append(room or t("scale.main_stage", lang))
        if on is not None:
            until = clock_time(on.end, reader.zone, lang) if on.end else ""
            lines.append(
                t(
                    "scale.now_on",
                    lang,
                    title=text(on.title, reader, schedule),
                    id=on.id,
                    until=until,
                )
            )
        if upcoming is not None:
            lines.append(
                t(
                    "scale.now_next",
                    lang,
                    title=text(upcoming.title, reader, schedule),
                    id=upcoming.id,
                    when=when(upcoming),
                )
            )
        shown = on or upcoming
        links = stream_links(shown, reader, schedule) if shown is not None else ()
        if links:
            lines.append(t("scale.now_link", lang, link=links[0].url))
        lines.append("")
    lines.append(t("scale.now_footer", lang))
    return Message("\n".join(lines), title=title)


def found_message(
    prog: Programme,
    reader: Reader,
    query: str,
    found: list[Session],
    when_of: Callable[[Session], str],
) -> Message:
    """What /find found: at most FIND_LIMIT talks, then how many more."""
    lang = reader.lang
    schedule = prog.schedule
    shown = found[:FIND_LIMIT]
    lines = [talk_line(s, reader, schedule, when=when_of(s), who=True) for s in shown]
    if len(found) > FIND_LIMIT:
        lines.extend(("", t("scale.find_more", lang, count=len(found) - FIND_LIMIT)))
    lines.extend(("", t("scale.find_footer", lang)))
    title = t("scale.find_title", lang, query=query, count=len(found))
    return Message("\n".join(lines), title=title)


__all__ = [
    "FIND_LIMIT",
    "SMALL_SCHEDULE",
    "Filter",
    "Programme",
    "day_message",
    "default_day",
    "found_message",
    "group_label",
    "marker_label",
    "now_message",
    "opening_view",
    "programme",
]
