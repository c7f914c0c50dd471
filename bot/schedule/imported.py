"""What every imported format reads (talks with instants, rooms, tracks, persons) and how the
overlay and sensible defaults turn it into the bot's Schedule."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlparse

from bot.schedule.model import MAX_LENGTH, Event, Person, Schedule, Session, Text
from bot.schedule.overlay import ANY_LANGUAGE, Overlay, Placed
from bot.schedule.problems import Problem, ScheduleError
from bot.schedule.yaml_loader import _ID_RE  # one id rule for every format
from bot.timezones import ZONE_NAMES, get_zone, wall_readings
from bot.untrusted import clean_text

UTC = dt.UTC
DEFAULT_LANGUAGE = "en"
# The kinds of talk sources mark as no talk at all: breaks, lunches, the registration desk.
SERVICE_KINDS = frozenset({"break", "pause", "lunch", "coffee", "service", "other-break"})


@dataclass(frozen=True)
class Talk:
    """One item of an imported schedule, as the source says it."""

    key: str  # the source's own id (code, guid, id, UID): the session id derives from it
    title: str
    where: str  # how a problem names it: the JSON path, the XML element, the UID
    line: int = 1
    start: dt.datetime | None = None  # aware; naive where the source gives no zone (floating)
    end: dt.datetime | None = None
    all_day: bool = False
    abstract: str | None = None
    room: str | None = None
    track: str | None = None
    language: str | None = None
    persons: tuple[str, ...] = ()
    service: bool = False
    links: tuple[str, ...] = ()  # livestream links the source itself gives (iCalendar)


@dataclass(frozen=True)
class Imported:
    """A whole imported source: what it says of the event, and its talks."""

    format: str
    file: str
    title: str | None = None
    acronym: str | None = None
    timezone: str | None = None  # an IANA name, where the source gives one
    url: str | None = None
    talks: tuple[Talk, ...] = ()
    zone_required: bool = False  # the times carry no zone (Sessionize): the overlay must say


def text_of(value: object) -> str | None:
    """A source's text cleaned for the bot (control characters out), None when empty."""
    if value is None or isinstance(value, (dict, list)):
        return None
    cleaned = clean_text(str(value)).strip()
    return cleaned or None


def http_link(value: object) -> str | None:
    """The value when it is an http(s) link, else None (a stream must be one)."""
    text = text_of(value)
    if text is None:
        return None
    parsed = urlparse(text)
    return text if parsed.scheme in ("http", "https") and parsed.netloc else None


def stable_id(key: str) -> str:
    """A session id from the source's own: itself where it fits the id rules ("ABC123" is
    "abc123"), else a short hash of it, the same on every import."""
    candidate = key.strip().lower()
    if _ID_RE.match(candidate):
        return candidate
    return "i" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def is_service_kind(kind: object) -> bool:
    """Whether a source's type of item marks a break rather than a talk."""
    text = text_of(kind)
    return text is not None and text.lower() in SERVICE_KINDS


def _utc(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The instant a source's time means: as written where it carries an offset, else a wall
    time in the event's zone (in a DST gap, the later reading; in a fold, the first)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    found = wall_readings(value, zone)
    if found:
        return found[0].astimezone(UTC)
    return value.replace(tzinfo=zone).astimezone(UTC)


def _streams(
    links: tuple[tuple[str, str], ...], languages: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """Links per language: one for every language written as ANY_LANGUAGE serves them all."""
    table: dict[str, str] = {}
    for lang, link in links:
        if lang == ANY_LANGUAGE:
            for each in languages:
                table.setdefault(each, link)
        else:
            table[lang] = link
    return tuple(table.items())


def _unknown(
    overlay: Overlay, placed: tuple[Placed, ...], known: set[str], what: str, field: str
) -> list[Problem]:
    """Overlay entries naming a room or track the source does not have."""
    listed = ", ".join(sorted(known)) or "none"
    return [
        Problem(
            overlay.file,
            item.line,
            field,
            f'the schedule has no {what} "{item.value}"; its {what}s: {listed}',
        )
        for item in placed
        if item.value not in known
    ]


def _zone(source: Imported, overlay: Overlay | None) -> tuple[str | None, list[Problem]]:
    """The event's zone: the overlay's, else the source's, else UTC where every time has an
    offset; a source whose times carry none needs it in the overlay."""
    if overlay is not None and overlay.timezone:
        return overlay.timezone, []
    if source.timezone in ZONE_NAMES and not source.zone_required:
        return source.timezone, []
    floating = any(t.start is not None and t.start.tzinfo is None for t in source.talks)
    if source.zone_required or floating:
        where = overlay.file if overlay is not None else _default_overlay_name(source.file)
        return None, [
            Problem(
                where,
                1,
                "event.timezone",
                f"the {source.format}'s times carry no time zone; write the event's zone in "
                "the overlay, e.g. event: {timezone: Europe/Berlin}",
            )
        ]
    return "UTC", []


def _default_overlay_name(file: str) -> str:
    """The overlay beside a local schedule: schedule.json -> schedule.overlay.yaml."""
    path = PurePath(file)
    return str(path.with_name(f"{path.stem}.overlay.yaml")) if path.name else "overlay.yaml"


def default_overlay_path(location: str) -> str:
    """Where the overlay of a local schedule is looked for when none is named."""
    return _default_overlay_name(location)


def assemble(source: Imported, overlay: Overlay | None, text: str) -> Schedule:
    """The Schedule of an imported source with its overlay; ScheduleError listing every problem."""
    problems: list[Problem] = []
    zone_name, zone_problems = _zone(source, overlay)
    problems += zone_problems
    languages = (overlay.languages if overlay else ()) or (DEFAULT_LANGUAGE,)
    fallback_name = source.title or PurePath(source.file).stem or "Event"
    name = (overlay.name if overlay else None) or Text.neutral(fallback_name)
    organizer = (overlay.organizer if overlay else None) or name
    event_id = (overlay.event_id if overlay else None) or stable_id(
        source.acronym or fallback_name
    )
    url = (overlay.url if overlay else None) or source.url
    rooms = {t.room for t in source.talks if t.room}
    tracks = {t.track for t in source.talks if t.track}
    if overlay is not None:
        problems += _unknown(overlay, overlay.exclude_rooms, rooms, "room", "exclude.rooms")
        problems += _unknown(overlay, overlay.exclude_tracks, tracks, "track", "exclude.tracks")
        problems += _unknown(
            overlay,
            tuple(Placed(room, line) for room, (line, _) in overlay.streams.items()),
            rooms,
            "room",
            "streams",
        )
    if zone_name is None:
        raise ScheduleError(problems)
    zone = get_zone(zone_name)
    skip_rooms = {p.value for p in overlay.exclude_rooms} if overlay else set()
    skip_tracks = {p.value for p in overlay.exclude_tracks} if overlay else set()
    overrides = dict(overlay.sessions) if overlay else {}
    sessions: list[Session] = []
    seen: dict[str, Talk] = {}
    for talk in source.talks:
        sid = stable_id(talk.key)
        if sid in seen:
            first = seen[sid]
            problems.append(
                Problem(
                    source.file,
                    talk.line,
                    f"{talk.where}: id",
                    f'"{talk.key}" is also the id of {first.where} ("{first.title}"); '
                    "each talk needs its own id",
                )
            )
            continue
        seen[sid] = talk
        override = overrides.pop(sid, None)
        if talk.room in skip_rooms or talk.track in skip_tracks:
            continue
        if override is not None and override.exclude:
            continue
        if talk.start is None:
            continue  # not scheduled yet: nothing to show or remind of
        start = _utc(talk.start, zone)
        end = _utc(talk.end, zone) if talk.end is not None else None
        if end is not None and not (start < end <= start + MAX_LENGTH):
            end = None  # a source's odd end is not worth refusing the whole schedule for
        links: tuple[tuple[str, str], ...] = ()
        if override is not None and override.streams:
            links = override.streams
        elif overlay is not None and talk.room in overlay.streams:
            links = overlay.streams[talk.room][1]
        elif talk.links:
            links = ((ANY_LANGUAGE, talk.links[0]),)
        title = Text.neutral(talk.title)
        if override is not None and override.title is not None:
            title = override.title
        service = talk.service or talk.all_day
        if override is not None and override.service is not None:
            service = override.service
        neutral = Text.neutral("")
        sessions.append(
            Session(
                id=sid,
                kind="service" if service else "talk",
                title=title,
                description=Text.neutral(talk.abstract) if talk.abstract else None,
                date=start.astimezone(zone).date(),
                start=start,
                end=end,
                host=None,
                speakers=tuple(
                    Person(Text.neutral(p), neutral, neutral, neutral) for p in talk.persons
                ),
                streams=_streams(links, languages),
                line=talk.line,
                room=talk.room,
                track=talk.track,
                language=talk.language,
                service=service,
            )
        )
    if overlay is not None:
        for sid, override in overrides.items():
            problems.append(
                Problem(
                    overlay.file,
                    override.line,
                    f"sessions.{sid}",
                    f'the schedule has no session "{sid}"; `summit-bot check` lists the ids',
                )
            )
    if problems:
        raise ScheduleError(problems)
    sessions.sort(key=lambda s: (s.start or dt.datetime.max.replace(tzinfo=UTC), s.id))
    event = Event(event_id, name, organizer, zone_name, languages, url)
    return Schedule(event, tuple(sessions), source=source.file, text=text)
