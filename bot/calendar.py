"""Calendars: the schedule as an iCalendar file, Google Calendar links, and `/calendar`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlencode

from icalendar import Alarm, Calendar, Event, Timezone

from bot.i18n import t
from bot.messages import Attachment, Link, Message, Reply
from bot.render import Reader, person_line, text, when_line
from bot.schedule import Schedule, Session, change_counts
from bot.store import Store
from bot.timezones import get_zone

PRODID = "-//summit-bot//summit-bot calendar//EN"
ICS_MIME = "text/calendar"
GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
# Discord refuses a whole message whose link button holds a longer URL, so every calendar link
# is kept within it (by shortening the details), which also suits every other platform.
MAX_LINK_LENGTH = 512
# The VTIMEZONE lists the zone's changes from the year before the first session to this many
# years after the last: an app that keeps it for the event, or for a session moved a little
# later, still reads every time the file holds right.
ZONE_YEARS_AFTER = 5


# Where a chat's personal feed lives, below the web face's public address (bot/web/feeds.py).
FEED_PATH = "/calendar/{token}.ics"


def feed_urls(public_url: str, token: str) -> tuple[str, str]:
    """A personal feed's `webcal://` address (calendar apps subscribe to it) and its
    http(s):// one (what Google Calendar's "From URL" takes)."""
    web = public_url.rstrip("/") + FEED_PATH.format(token=token)
    return "webcal://" + web.partition("://")[2], web


def select_sessions(schedule: Schedule, session_ids: Sequence[str] | None) -> list[Session]:
    """The sessions asked for, in schedule order; None is every one, unknown ids are skipped."""
    if session_ids is None:
        return list(schedule.sessions)
    wanted = set(session_ids)
    return [s for s in schedule.sessions if s.id in wanted]


def session_uid(schedule: Schedule, session: Session) -> str:
    """The session's iCalendar UID: the same in every build, so a re-import updates it."""
    return f"{session.id}@{schedule.event.id}.summit-bot"


def ics_filename(schedule: Schedule, sessions: Sequence[Session]) -> str:
    """The attachment's name: `scms2020-s1.ics` for one session, `scms2020.ics` for more."""
    if len(sessions) == 1:
        return f"{schedule.event.id}-{sessions[0].id}.ics"
    return f"{schedule.event.id}.ics"


def _end(session: Session) -> dt.datetime:
    """A timed session's end."""
    end = session.assumed_end
    assert end is not None
    return end


def _title(schedule: Schedule, session: Session, reader: Reader) -> str:
    """The title, marked "time to be announced" for a session shown as a whole day."""
    title = text(session.title, reader, schedule)
    if session.start is None:
        return t("calendar.summary_tba", reader.lang, title=title)
    return title


def _stream_line(schedule: Schedule, session: Session, reader: Reader) -> str:
    """The livestream line in the reader's language, or "link to be announced"."""
    url = session.stream(reader.lang, schedule.event.languages)
    if url is None:
        return t("session.link_tba", reader.lang)
    return t("reminder.link", reader.lang, link=url)


def _location(schedule: Schedule, session: Session, reader: Reader) -> str:
    """Where the session happens: its livestream, or "Online" while that is unknown."""
    url = session.stream(reader.lang, schedule.event.languages)
    return url or t("calendar.online", reader.lang)


def _description(schedule: Schedule, session: Session, reader: Reader) -> str:
    """What the session is, who speaks, and where to watch, in the reader's language."""
    lang = reader.lang
    parts: list[str] = []
    if session.start is None:  # an all-day placeholder: say which day it really is, and where
        parts.append(when_line(session, reader, schedule))
    if session.description is not None:
        parts.append(text(session.description, reader, schedule))
    people: list[str] = []
    if session.host is not None:
        people.append(t("session.host", lang, person=person_line(session.host, reader, schedule)))
    if session.speakers:
        people.append(t("session.speakers", lang))
        people.extend(
            t("session.speaker", lang, person=person_line(p, reader, schedule))
            for p in session.speakers
        )
    if people:
        parts.append("\n".join(people))
    parts.append(_stream_line(schedule, session, reader))
    return "\n\n".join(parts)


async def session_sequences(store: Store, schedule: Schedule) -> dict[str, int]:
    """Each session's SEQUENCE: how often it changed over the schedule versions the store
    recorded and `schedule` itself.

    Calendar apps apply a re-imported event only when its SEQUENCE is higher than the one
    they hold, so it must go up with every change of the session and with nothing else; the
    store's versions are the one history the worker's `/calendar` and `summit-bot ics`
    share. A build time or a content hash would not do: the one goes up without a change,
    the other can go down with one.
    """
    return change_counts(await store.schedules.texts(schedule.event.id), schedule)


def _alarm(title: str, minutes: int) -> Alarm:
    """A display alarm `minutes` before the start (0: at the start)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    alarm.add("trigger", -dt.timedelta(minutes=minutes))
    return alarm


def _vevent(
    schedule: Schedule,
    session: Session,
    reader: Reader,
    stamp: dt.datetime,
    sequence: int,
    alarms: Sequence[int] = (),
) -> Event:
    """One session as a VEVENT."""
    event = Event()
    event.add("uid", session_uid(schedule, session))
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("summary", _title(schedule, session, reader))
    if session.start is not None:
        # Local times with the event's zone as TZID (and its VTIMEZONE): the app converts
        # them to each reader's clock, and the file reads right in the organizer's zone.
        zone = get_zone(schedule.event.timezone)  # the tzdata package's rules, as everywhere
        event.add("dtstart", session.start.astimezone(zone))
        event.add("dtend", _end(session).astimezone(zone))
    else:
        # Time to be announced: an all-day placeholder on its date, tentative and not busy,
        # so that the day is in the viewer's calendar; once the time is known, importing a
        # new file turns the same UID into a timed event.
        event.add("dtstart", session.date)
        event.add("dtend", session.date + dt.timedelta(days=1))
        event.add("status", "TENTATIVE")
        event.add("transp", "TRANSPARENT")
    event.add("description", _description(schedule, session, reader))
    event.add("location", _location(schedule, session, reader))
    url = session.stream(reader.lang, schedule.event.languages)
    if url is not None:
        event.add("url", url)
    if session.start is not None:  # a day to be announced has no instant to ring at
        for minutes in alarms:
            event.add_component(_alarm(_title(schedule, session, reader), minutes))
    return event


def _zone(schedule: Schedule, sessions: Sequence[Session]) -> Timezone | None:
    """The event zone's VTIMEZONE, right at every start and end the file holds and years
    beyond; None when no session has a time."""
    instants = [i for s in sessions if s.start is not None for i in (s.start, _end(s))]
    if not instants:
        return None
    zone = get_zone(schedule.event.timezone)  # the tzdata package's rules, as the times'
    first = min(instants).astimezone(zone).year - 1
    last = max(instants).astimezone(zone).year + ZONE_YEARS_AFTER
    vtimezone = Timezone.from_tzinfo(
        zone,
        schedule.event.timezone,
        first_date=dt.date(first, 1, 1),
        last_date=dt.date(last + 1, 1, 1),
    )
    # icalendar notes the range it was built for ("only works from ... to ..."); the range
    # holds every instant of the file, so the note would only alarm a reader.
    vtimezone.pop("COMMENT", None)
    return vtimezone


def build_ics(
    schedule: Schedule,
    session_ids: Sequence[str] | None,
    lang: str,
    *,
    now: dt.datetime,
    sequences: Mapping[str, int] | None = None,
    alarms: Sequence[int] = (),
) -> bytes:
    """An iCalendar file of these sessions (None: all of them) in `lang`; `now` is DTSTAMP.

    `sequences` (from `session_sequences`) gives each session's SEQUENCE; None is a schedule
    with no recorded history, where every session is at 0. `alarms`: minutes before each
    timed session's start at which the calendar app rings (a viewer's reminder offsets).
    """
    reader = Reader(lang, schedule.event.timezone)
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", text(schedule.event.name, reader, schedule))
    sessions = select_sessions(schedule, session_ids)
    vtimezone = _zone(schedule, sessions)
    if vtimezone is not None:  # before the events that name it, as strict importers want
        calendar.add_component(vtimezone)
    for session in sessions:
        sequence = (sequences or {}).get(session.id, 0)
        calendar.add_component(_vevent(schedule, session, reader, stamp, sequence, alarms))
    data: bytes = calendar.to_ical()  # typed Any in some icalendar versions
    return data


def _utc_stamp(instant: dt.datetime) -> str:
    """An instant as Google Calendar's dates want it: 20200813T090000Z."""
    return instant.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(schedule: Schedule, session: Session, lang: str) -> str:
    """A Google Calendar "add event" link for the session, at most MAX_LINK_LENGTH long."""
    reader = Reader(lang, schedule.event.timezone)
    if session.start is not None:
        dates = f"{_utc_stamp(session.start)}/{_utc_stamp(_end(session))}"
    else:  # all day, as in the .ics
        dates = f"{session.date:%Y%m%d}/{session.date + dt.timedelta(days=1):%Y%m%d}"
    fields = {
        "action": "TEMPLATE",
        "text": _title(schedule, session, reader),
        "dates": dates,
        "details": "",
        "location": _location(schedule, session, reader),
        "ctz": schedule.event.timezone,
    }

    def link(details: str) -> str:
        # %20 rather than "+" for spaces: some apps that open the link do not decode "+".
        return f"{GOOGLE_CALENDAR}?{urlencode({**fields, 'details': details}, quote_via=quote)}"

    # Where to watch first, then as much of the description as fits.
    line = _stream_line(schedule, session, reader)
    about = text(session.description, reader, schedule) if session.description else ""
    # Each character takes at least one in the link: a longer prefix can never fit.
    for size in range(min(len(about), MAX_LINK_LENGTH), 0, -1):
        body = about if size == len(about) else about[: size - 1].rstrip() + "…"
        candidate = link(f"{line}\n\n{body}")
        if len(candidate) <= MAX_LINK_LENGTH:
            return candidate
    short = link(line)
    return short if len(short) <= MAX_LINK_LENGTH else link("")


def calendar_reply(
    schedule: Schedule,
    session_ids: Sequence[str] | None,
    reader: Reader,
    now: dt.datetime,
    *,
    sequences: Mapping[str, int] | None = None,
) -> Reply:
    """What /calendar answers: the .ics of these sessions (None: all) and Google links;
    `sequences` as for `build_ics`.

    With no session (no subscriptions), it says how to subscribe instead.
    """
    lang = reader.lang
    sessions = select_sessions(schedule, session_ids)
    if not sessions:
        example = schedule.sessions[0].id if schedule.sessions else "s1"
        return Reply((Message(t("calendar.none", lang, example=example)),), lang=lang)
    ids = None if session_ids is None else [s.id for s in sessions]
    filename = ics_filename(schedule, sessions)
    data = build_ics(schedule, ids, lang, now=now, sequences=sequences)
    links = []
    for session in sessions:
        url = google_calendar_link(schedule, session, lang)
        if len(url) <= MAX_LINK_LENGTH:  # a title too long for any details still must not
            label = t("calendar.link", lang, title=text(session.title, reader, schedule))
            links.append(Link(label, url))
    message = Message(
        t("calendar.body", lang, file=filename),
        title=t("calendar.title", lang),
        links=tuple(links),
        attachment=Attachment(filename, data, ICS_MIME),
    )
    return Reply((message,), lang=lang)
