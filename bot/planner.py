"""Pure planning: (schedule, a chat's preferences, now) → reminder instants. No I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.schedule import Schedule, Session
from bot.timezones import get_zone, standard_reading

JOB_PREFIX = "remind:"  # a reminder group's job id: remind:<session>:<offset>:<due, Unix time>
QUIET_MARGIN = dt.timedelta(minutes=1)  # a moved reminder lands this long before quiet hours


@dataclass(frozen=True)
class Prefs:
    """What planning needs to know about one chat (or every chat sharing these settings)."""

    zone: str
    offsets: tuple[int, ...]  # minutes before the start; 0 is "live now"
    quiet: tuple[dt.time, dt.time] | None = None  # local wall-clock window, may wrap midnight


@dataclass(frozen=True, order=True)
class Planned:
    """One reminder: when it goes out, for which session and offset.

    The scheduler keeps one job per Planned and fires it for every chat it fits.
    """

    due: dt.datetime  # aware UTC; earlier than nominal when moved out of quiet hours
    session_id: str
    offset: int
    start: dt.datetime

    @property
    def nominal(self) -> dt.datetime:
        """When the reminder would go out without quiet hours."""
        return self.reference.nominal

    @property
    def reference(self) -> ReminderRef:
        """What the reminder's ledger reference names."""
        return ReminderRef(self.session_id, self.offset, self.start)

    @property
    def job_id(self) -> str:
        """The scheduler's job id, deterministic: the same reminder gets it in every process."""
        return f"{JOB_PREFIX}{self.session_id}:{self.offset}:{int(self.due.timestamp())}"

    @property
    def ref(self) -> str:
        """The ledger reference: session, offset and the start it was planned for.

        The start is part of it so that a session moved to a new time is reminded again,
        while a restart never re-sends a reminder already sent for the same start.
        """
        return str(self.reference)


def job_session_due(job_id: str) -> tuple[str, dt.datetime] | None:
    """The session and due instant a `Planned.job_id` names (None for another kind of id)."""
    if not job_id.startswith(JOB_PREFIX):
        return None
    # A session id may hold ":"; the offset and the instant after it never do.
    parts = job_id.removeprefix(JOB_PREFIX).rsplit(":", 2)
    try:
        return parts[0], dt.datetime.fromtimestamp(int(parts[2]), dt.UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return None


@dataclass(frozen=True)
class ReminderRef:
    """What a reminder's ledger reference names: session, offset and the start planned for.

    Stored as "s1:60:1597309200" (session id, minutes before, the start's Unix time).
    """

    session_id: str
    offset: int
    start: dt.datetime

    def __str__(self) -> str:
        return f"{self.session_id}:{self.offset}:{int(self.start.timestamp())}"

    @property
    def nominal(self) -> dt.datetime:
        """When the reminder is due without quiet hours: `offset` minutes before the start."""
        return self.start - dt.timedelta(minutes=self.offset)

    def is_for(self, start: dt.datetime) -> bool:
        """Whether it was planned for a session starting at `start` (to the second, as
        stored: a rehearsal's shifted starts carry microseconds)."""
        return int(self.start.timestamp()) == int(start.timestamp())

    @classmethod
    def parse(cls, text: str) -> ReminderRef | None:
        """Read a stored reference back (the inverse of str()); None if it is not one."""
        parts = text.rsplit(":", 2)  # a session id may itself hold a colon
        if len(parts) != 3 or not parts[0]:
            return None
        session_id, offset, stamp = parts
        try:
            start = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
            return cls(session_id, int(offset), start)
        except (ValueError, OverflowError):
            return None


def parse_clock(text: str) -> dt.time:
    """ "23:00" → a time; ValueError for anything else."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise ValueError(text)
    return dt.time(int(hours), int(minutes))


def in_quiet_hours(local: dt.datetime, quiet: tuple[dt.time, dt.time]) -> bool:
    """Whether a local wall-clock time falls inside [quiet start, quiet end)."""
    begin, end = quiet
    now = local.time().replace(tzinfo=None)
    if begin <= end:
        return begin <= now < end
    return now >= begin or now < end


def is_quiet(instant: dt.datetime, zone_name: str, quiet: tuple[str, str] | None) -> bool:
    """Whether `instant` falls in the quiet hours ("HH:MM", "HH:MM") of a reader in that zone."""
    if quiet is None or quiet[0] == quiet[1]:
        return False
    window = (parse_clock(quiet[0]), parse_clock(quiet[1]))
    return in_quiet_hours(instant.astimezone(get_zone(zone_name)), window)


def move_out_of_quiet_hours(
    instant: dt.datetime, zone_name: str, quiet: tuple[dt.time, dt.time] | None
) -> dt.datetime:
    """The instant itself, or just before the quiet hours it falls into begin."""
    if quiet is None or quiet[0] == quiet[1]:
        return instant
    zone = get_zone(zone_name)
    local = instant.astimezone(zone)
    if not in_quiet_hours(local, quiet):
        return instant
    begin = quiet[0]
    day = local.date()
    if local.time().replace(tzinfo=None) < begin:  # a window that began yesterday evening
        day -= dt.timedelta(days=1)
    # Where clocks go back over `begin`, its later, standard-time reading.
    start_local = standard_reading(dt.datetime.combine(day, begin), zone)
    return start_local.astimezone(dt.UTC) - QUIET_MARGIN


def plan_session(session: Session, prefs: Prefs) -> list[Planned]:
    """Every reminder of one session for these preferences, past or future."""
    if session.start is None or session.service:
        return []  # a break, a lunch: in the agenda, never reminded of
    by_due: dict[dt.datetime, Planned] = {}
    for offset in sorted(set(prefs.offsets), reverse=True):
        nominal = session.start - dt.timedelta(minutes=offset)
        due = min(move_out_of_quiet_hours(nominal, prefs.zone, prefs.quiet), session.start)
        # Offsets that quiet hours push onto the same instant become one message.
        by_due[due] = Planned(due, session.id, offset, session.start)
    return sorted(by_due.values())


def plan(
    schedule: Schedule,
    prefs: Prefs,
    now: dt.datetime,
    session_ids: Iterable[str] | None = None,
) -> list[Planned]:
    """The reminders still worth sending at `now`: those of sessions that have not ended.

    Reminders whose instant has passed are included (the caller sends them late, worded for
    the moment they are read); none of a session that is over.
    """
    wanted = None if session_ids is None else set(session_ids)
    planned: list[Planned] = []
    for session in schedule.sessions:
        if wanted is not None and session.id not in wanted:
            continue
        if session.is_over(now):
            continue
        planned.extend(plan_session(session, prefs))
    return sorted(planned)
