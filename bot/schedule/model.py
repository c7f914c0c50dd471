"""The event's schedule as frozen data: texts, persons, sessions, the event, the schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.constants import NEUTRAL_LANGUAGE
from bot.timezones import get_zone

# How long a session without an end is taken to last, where a length is needed.
DEFAULT_LENGTH = dt.timedelta(hours=1)
# The longest session a schedule may hold: a conference of several days fits, an end date
# typed a month or a year wrong does not.
MAX_LENGTH = dt.timedelta(days=7)


@dataclass(frozen=True)
class Text:
    """A viewer-facing text in several languages (or one language-neutral value)."""

    values: tuple[tuple[str, str], ...]

    @classmethod
    def neutral(cls, value: str) -> Text:
        """A text that reads the same in every language, such as a proper name."""
        return cls(((NEUTRAL_LANGUAGE, value),))

    def get(self, lang: str, fallback: Sequence[str] = ()) -> str:
        """The text in `lang`, else in the first fallback language that has it."""
        table = dict(self.values)
        for candidate in (lang, *fallback, NEUTRAL_LANGUAGE):
            if candidate in table:
                return table[candidate]
        return self.values[0][1]

    def languages(self) -> frozenset[str]:
        """The languages this text has, NEUTRAL_LANGUAGE for a language-neutral one."""
        return frozenset(k for k, _ in self.values)


@dataclass(frozen=True)
class Person:
    """A host or speaker, as the press release lists them."""

    name: Text
    role: Text
    city: Text
    country: Text


@dataclass(frozen=True)
class Session:
    """One session; `start` is None while its time is to be announced."""

    id: str
    kind: str
    title: Text
    description: Text | None
    date: dt.date  # the calendar date it starts on, in the event's time zone
    start: dt.datetime | None  # aware, UTC
    end: dt.datetime | None  # aware, UTC; after the start, maybe on a later day
    host: Person | None
    speakers: tuple[Person, ...]
    streams: tuple[tuple[str, str], ...]  # (language, url); empty: to be announced
    line: int = 0  # where the session is defined in its file, for error messages
    # Where and in which strand of the programme it runs; imported schedules of conferences
    # have dozens of rooms and tracks (None: the event has one stage).
    room: str | None = None
    track: str | None = None
    # The language the talk is given in (a tag such as "en"), where the source says.
    language: str | None = None
    # A break, a lunch, a registration desk: shown in the agenda, never offered for reminders.
    service: bool = False

    @property
    def time_known(self) -> bool:
        """Whether the session's start time has been announced."""
        return self.start is not None

    def stream(self, lang: str, fallback: Sequence[str] = ()) -> str | None:
        """The livestream link for `lang`, else a fallback language's, else None."""
        table = dict(self.streams)
        for candidate in (lang, *fallback):
            if candidate in table:
                return table[candidate]
        return next(iter(table.values()), None)

    def stream_language(self, lang: str, fallback: Sequence[str] = ()) -> str | None:
        """The language of the link `stream` picks, so a reader can be told it differs."""
        table = dict(self.streams)
        for candidate in (lang, *fallback):
            if candidate in table:
                return candidate
        return next(iter(table), None)

    @property
    def assumed_end(self) -> dt.datetime | None:
        """The end, or `DEFAULT_LENGTH` after the start where none is given (calendars,
        platform events need one); None while the time is to be announced."""
        if self.start is None:
            return None
        return self.end if self.end is not None else self.start + DEFAULT_LENGTH

    def is_over(self, now: dt.datetime) -> bool:
        """Whether the session has ended at `now`."""
        return self.end is not None and now >= self.end


@dataclass(frozen=True)
class Event:
    """The event as a whole."""

    id: str
    name: Text
    organizer: Text
    timezone: str
    languages: tuple[str, ...]
    url: str | None = None


@dataclass(frozen=True)
class Schedule:
    """An event and its sessions, ordered by date and start."""

    event: Event
    sessions: tuple[Session, ...]
    source: str = "<memory>"
    # The YAML it was parsed from: kept so that the next start can tell what changed while
    # the worker was down (bot/reload.py). Not part of what makes two schedules equal.
    text: str = field(default="", compare=False, repr=False)

    def session(self, session_id: str) -> Session | None:
        """The session with this id, or None."""
        for session in self.sessions:
            if session.id == session_id:
                return session
        return None

    def session_ids(self) -> tuple[str, ...]:
        """Every session id, in schedule order."""
        return tuple(s.id for s in self.sessions)

    def next_session(self, now: dt.datetime) -> Session | None:
        """The session on now or next: live ones first, then the soonest to start."""
        for session in self.sessions:
            if session.start is not None and not session.is_over(now):
                return session
        return None

    def shifted(self, delta: dt.timedelta) -> Schedule:
        """The same schedule with every session moved by `delta` (for rehearsals)."""
        zone = get_zone(self.event.timezone)

        def move(session: Session) -> Session:
            start = session.start + delta if session.start else None
            end = session.end + delta if session.end else None
            day = start.astimezone(zone).date() if start else session.date + delta
            return replace(session, start=start, end=end, date=day)

        return replace(self, sessions=tuple(move(s) for s in self.sessions))
