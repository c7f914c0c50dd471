"""The strict schedule.yaml loader: every problem reported with its file, line and field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

import yaml

from bot.i18n import languages, normalize_language
from bot.i18n.formatting import format_duration
from bot.schedule.model import MAX_LENGTH, Event, Person, Schedule, Session, Text
from bot.schedule.problems import Problem, ScheduleError
from bot.timezones import ZONE_NAMES, get_zone, wall_readings
from bot.untrusted import clean_text
from bot.yaml_lines import YamlSyntaxError, compose, line_of

UTC = dt.UTC
TBA = "tba"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

N = TypeVar("N")


@dataclass
class _Ctx:
    """Collects problems while one file is checked; nothing is returned until it is clean."""

    file: str
    languages: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)

    def fail(self, node: yaml.Node | None, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(node), path, message))


def _mapping(
    ctx: _Ctx, node: yaml.Node, path: str, allowed: Sequence[str], required: Sequence[str]
) -> dict[str, yaml.Node] | None:
    """A mapping node's entries, checking unknown, duplicate and missing keys."""
    if not isinstance(node, yaml.MappingNode):
        ctx.fail(node, path, f"expected a mapping with keys {', '.join(required or allowed)}")
        return None
    entries: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in entries:
            ctx.fail(key_node, f"{path}.{key}", "duplicate key; keep one of them")
        elif key not in allowed:
            ctx.fail(key_node, f"{path}.{key}", f"unknown key; allowed: {', '.join(allowed)}")
        entries[key] = value_node
    for key in required:
        if key not in entries:
            ctx.fail(node, f"{path}.{key}", "missing; this field is required")
    return entries


def _scalar(ctx: _Ctx, node: yaml.Node | None, path: str, example: str) -> str | None:
    """The raw text of a scalar node (raw, so that 17:00 is never read as a number)."""
    if node is None:
        return None
    if not isinstance(node, yaml.ScalarNode) or node.value == "":
        ctx.fail(node, path, f"expected a value such as {example}")
        return None
    # Every text of the schedule passes here: titles, descriptions, names, places, links.
    return clean_text(str(node.value)).strip()


def _text(ctx: _Ctx, node: yaml.Node | None, path: str, *, neutral_ok: bool) -> Text | None:
    """A text in every event language; a plain string only where `neutral_ok`."""
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode) and neutral_ok:
        value = _scalar(ctx, node, path, '"Ko Wen-je"')
        return Text.neutral(value) if value else None
    langs = ctx.languages
    example = ", ".join(f"{lang}: ..." for lang in langs)
    if not isinstance(node, yaml.MappingNode):
        ctx.fail(node, path, f"expected one text per language: {{{example}}}")
        return None
    entries = _mapping(ctx, node, path, allowed=langs, required=langs)
    if entries is None:
        return None
    values = []
    for lang in langs:
        value = _scalar(ctx, entries.get(lang), f"{path}.{lang}", "a text")
        if value is not None:
            values.append((lang, value))
    return Text(tuple(values)) if len(values) == len(langs) else None


def _url(ctx: _Ctx, node: yaml.Node | None, path: str) -> str | None:
    value = _scalar(ctx, node, path, "https://youtu.be/...")
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        ctx.fail(node, path, f'"{value}" is not an http(s) link; write e.g. https://youtu.be/...')
        return None
    return value


def _date(ctx: _Ctx, node: yaml.Node | None, path: str) -> dt.date | None:
    value = _scalar(ctx, node, path, "2020-08-13")
    if value is None:
        return None
    try:
        if not _DATE_RE.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        ctx.fail(node, path, f'"{value}" is not a date; write YYYY-MM-DD, e.g. 2020-08-13')
        return None


def _time(ctx: _Ctx, node: yaml.Node | None, path: str, *, tba_ok: bool) -> dt.time | str | None:
    example = '"17:00" or "tba"' if tba_ok else '"18:40"'
    value = _scalar(ctx, node, path, example)
    if value is None:
        return None
    if tba_ok and value.lower() == TBA:
        return TBA
    match = _TIME_RE.match(value)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return dt.time(int(match[1]), int(match[2]))
    ctx.fail(node, path, f'"{value}" is not a time; write HH:MM (24-hour), e.g. {example}')
    return None


def _ident(ctx: _Ctx, node: yaml.Node | None, path: str) -> str | None:
    value = _scalar(ctx, node, path, "s1")
    if value is not None and not _ID_RE.match(value):
        ctx.fail(node, path, f'"{value}" is not an id; use a-z, 0-9, "-" or "_", e.g. s1')
        return None
    return value


def _label(ctx: _Ctx, node: yaml.Node | None, path: str) -> str | None:
    """A room's or a track's name, as the programme prints it: "Main Hall", "Security"."""
    return _scalar(ctx, node, path, '"Main Hall"')


def _sequence(ctx: _Ctx, node: yaml.Node | None, path: str, example: str) -> list[yaml.Node]:
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        ctx.fail(node, path, f"expected a list, e.g. {example}")
        return []
    return list(node.value)


def _each(
    ctx: _Ctx, nodes: list[yaml.Node], path: str, build: Callable[[_Ctx, yaml.Node, str], N | None]
) -> Iterator[tuple[yaml.Node, N | None]]:
    for index, node in enumerate(nodes):
        yield node, build(ctx, node, f"{path}[{index}]")


def _person(ctx: _Ctx, node: yaml.Node, path: str) -> Person | None:
    keys = ("name", "role", "city", "country")
    entries = _mapping(ctx, node, path, allowed=keys, required=keys)
    if entries is None:
        return None
    name = _text(ctx, entries.get("name"), f"{path}.name", neutral_ok=True)
    role = _text(ctx, entries.get("role"), f"{path}.role", neutral_ok=False)
    city = _text(ctx, entries.get("city"), f"{path}.city", neutral_ok=False)
    country = _text(ctx, entries.get("country"), f"{path}.country", neutral_ok=False)
    if name and role and city and country:
        return Person(name, role, city, country)
    return None


def _streams(ctx: _Ctx, node: yaml.Node | None, path: str) -> tuple[tuple[str, str], ...] | None:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value.lower() == TBA):
        return ()
    if not isinstance(node, yaml.MappingNode):
        ctx.fail(node, path, 'expected "tba" or one link per language: {en: https://...}')
        return None
    entries = _mapping(ctx, node, path, allowed=ctx.languages, required=())
    if entries is None:
        return None
    links = [(lang, _url(ctx, value, f"{path}.{lang}")) for lang, value in entries.items()]
    if any(url is None for _, url in links):
        return None
    return tuple((lang, url) for lang, url in links if url is not None)


def _localize(
    ctx: _Ctx, zone: dt.tzinfo, day: dt.date, time: dt.time, node: yaml.Node, path: str
) -> dt.datetime | None:
    """The UTC instant of a wall-clock time in the event's zone; DST gaps and folds are errors."""
    naive = dt.datetime.combine(day, time)
    found = wall_readings(naive, zone)
    if not found:
        ctx.fail(node, path, f"{naive:%Y-%m-%d %H:%M} does not exist there (clocks go forward)")
        return None
    if len(found) > 1:
        ctx.fail(node, path, f"{naive:%Y-%m-%d %H:%M} happens twice there (clocks go back)")
        return None
    return found[0].astimezone(UTC)


def _span(
    ctx: _Ctx,
    zone: dt.tzinfo,
    entries: dict[str, yaml.Node],
    path: str,
    day: dt.date,
    times: tuple[dt.time, dt.time],
    end_day: dt.date | None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The start and end instants: an end earlier than the start is on the next day, unless
    `end_date` names the day; a session of no length, one that ends before it starts and one
    longer than MAX_LENGTH are refused."""
    start_t, end_t = times
    start = _localize(ctx, zone, day, start_t, entries["start"], f"{path}.start")
    date_node = entries.get("end_date")
    if date_node is not None and end_day is None:
        return start, None  # the end date's own problem is reported already
    # A problem with the length is the end date's when one is given, else the end time's.
    node, where = (date_node, "end_date") if date_node is not None else (entries["end"], "end")
    if end_day is not None and end_day < day:
        ctx.fail(
            node,
            f"{path}.end_date",
            f"{end_day} is before the session's date, {day}; "
            f"write the day it ends, {day} or later",
        )
        return start, None
    if end_day is None:  # 23:30 to 00:30 ends the next day
        end_day = day + dt.timedelta(days=1) if end_t < start_t else day
    end = _localize(ctx, zone, end_day, end_t, entries["end"], f"{path}.end")
    if start is None or end is None:
        return start, None
    if end == start:
        ctx.fail(
            node,
            f"{path}.{where}",
            f"{end_day} {end_t:%H:%M} is the start, a session of no length; write the time it "
            "ends (an end earlier than the start is the next day)",
        )
    elif end < start:
        ctx.fail(
            node,
            f"{path}.{where}",
            f"{end_day} {end_t:%H:%M} is not after the start, {day} {start_t:%H:%M}; "
            "write the day it ends as end_date, or an end time after the start",
        )
    elif end - start > MAX_LENGTH:
        ctx.fail(
            node,
            f"{path}.{where}",
            f"the session would last {format_duration(end - start, 'en')}; a session lasts "
            f"at most {format_duration(MAX_LENGTH, 'en')}: check end_date and date",
        )
    else:
        return start, end
    return start, None


def _session(ctx: _Ctx, node: yaml.Node, path: str, zone: dt.tzinfo | None) -> Session | None:
    allowed = (
        "id",
        "kind",
        "title",
        "description",
        "date",
        "start",
        "end",
        "end_date",
        "streams",
        "host",
        "speakers",
        "room",
        "track",
    )
    entries = _mapping(ctx, node, path, allowed=allowed, required=("id", "title", "date", "start"))
    if entries is None:
        return None
    before = len(ctx.problems)
    sid = _ident(ctx, entries.get("id"), f"{path}.id")
    kind = _ident(ctx, entries.get("kind"), f"{path}.kind") or "session"
    title = _text(ctx, entries.get("title"), f"{path}.title", neutral_ok=False)
    description = _text(ctx, entries.get("description"), f"{path}.description", neutral_ok=False)
    day = _date(ctx, entries.get("date"), f"{path}.date")
    start_t = _time(ctx, entries.get("start"), f"{path}.start", tba_ok=True)
    end_node = entries.get("end")
    end_t = _time(ctx, end_node, f"{path}.end", tba_ok=False)
    end_date_node = entries.get("end_date")
    end_day = _date(ctx, end_date_node, f"{path}.end_date")
    streams = _streams(ctx, entries.get("streams"), f"{path}.streams")
    host_node = entries.get("host")
    host = _person(ctx, host_node, f"{path}.host") if host_node is not None else None
    speaker_nodes = _sequence(ctx, entries.get("speakers"), f"{path}.speakers", "[{name: ...}]")
    speakers = [p for _, p in _each(ctx, speaker_nodes, f"{path}.speakers", _person)]
    room = _label(ctx, entries.get("room"), f"{path}.room")
    track = _label(ctx, entries.get("track"), f"{path}.track")

    start = end = None
    if isinstance(start_t, dt.time) and end_node is None:
        ctx.fail(node, f"{path}.end", 'missing; a session with a start time needs an end, "18:40"')
    if start_t == TBA and end_node is not None:
        ctx.fail(end_node, f"{path}.end", "an end time needs a start time; remove it or set start")
    if start_t == TBA and end_date_node is not None:
        message = "an end date needs a start time; remove it or set start"
        ctx.fail(end_date_node, f"{path}.end_date", message)
    if isinstance(start_t, dt.time) and isinstance(end_t, dt.time) and day and zone:
        start, end = _span(ctx, zone, entries, path, day, (start_t, end_t), end_day)
    if len(ctx.problems) > before or not (sid and title and day) or streams is None:
        return None
    return Session(
        id=sid,
        kind=kind,
        title=title,
        description=description,
        date=day,
        start=start,
        end=end,
        host=host,
        speakers=tuple(p for p in speakers if p),
        streams=streams,
        line=node.start_mark.line + 1,
        room=room,
        track=track,
    )


def _unspoken(lang: str, spoken: str | None) -> str:
    """Why an event language is refused: another spelling of a catalog's code ("zh-tw",
    "es-MX" → "es"), or a language without a catalog."""
    if spoken is not None:
        return f'no catalog is called "{lang}"; write {spoken}, the catalog it means'
    return f'"{lang}" is not a language the bot speaks; it speaks {", ".join(languages())}'


def _event(ctx: _Ctx, node: yaml.Node) -> Event | None:
    keys = ("id", "name", "organizer", "timezone", "languages", "url")
    entries = _mapping(ctx, node, "event", allowed=keys, required=keys[:5])
    if entries is None:
        return None
    langs: list[str] = []
    items = _sequence(ctx, entries.get("languages"), "event.languages", "[en, zh-TW]")
    for index, item in enumerate(items):
        where = f"event.languages[{index}]"
        lang = _scalar(ctx, item, where, "en")
        if lang is None:
            continue
        spoken = normalize_language(lang) if _LANG_RE.match(lang) else None
        if not _LANG_RE.match(lang):
            ctx.fail(item, where, f'"{lang}" is not a language tag; e.g. en, zh-TW')
        elif lang not in languages():
            # Every text a viewer reads comes from a catalog: an event language without one
            # would leave its readers with another language's words around the event's texts.
            ctx.fail(item, where, _unspoken(lang, spoken))
        elif lang in langs:
            ctx.fail(item, where, f'"{lang}" is listed twice')
        else:
            langs.append(lang)
    if "languages" in entries and not langs:
        ctx.fail(entries["languages"], "event.languages", "name at least one, e.g. [en, zh-TW]")
    ctx.languages = tuple(langs)
    zone_name = _scalar(ctx, entries.get("timezone"), "event.timezone", "Asia/Taipei")
    if zone_name is not None and zone_name not in ZONE_NAMES:
        ctx.fail(
            entries["timezone"],
            "event.timezone",
            f'"{zone_name}" is not an IANA time zone; write e.g. Asia/Taipei',
        )
        zone_name = None
    event_id = _ident(ctx, entries.get("id"), "event.id")
    name = _text(ctx, entries.get("name"), "event.name", neutral_ok=False)
    organizer = _text(ctx, entries.get("organizer"), "event.organizer", neutral_ok=False)
    url = _url(ctx, entries.get("url"), "event.url") if "url" in entries else None
    if event_id and name and organizer and zone_name and langs:
        return Event(event_id, name, organizer, zone_name, tuple(langs), url)
    return None


def parse_schedule(text: str, file: str = "<string>") -> Schedule:
    """Parse a schedule from YAML text; raise ScheduleError listing every problem."""
    ctx = _Ctx(file)
    try:
        root = compose(text, file)
    except YamlSyntaxError as exc:
        raise ScheduleError([exc.problem]) from None
    if root is None:
        raise ScheduleError(
            [Problem(file, 1, "(file)", "the file is empty; it needs `event:` and `sessions:`")]
        )
    entries = _mapping(
        ctx, root, "(top level)", allowed=("event", "sessions"), required=("event", "sessions")
    )
    if entries is None or "event" not in entries:
        raise ScheduleError(ctx.problems)
    event = _event(ctx, entries["event"])
    zone = get_zone(event.timezone) if event else None
    sessions: list[Session] = []
    seen: dict[str, int] = {}
    nodes = _sequence(ctx, entries.get("sessions"), "sessions", "[{id: s1, ...}]")
    for index, node in enumerate(nodes):
        session = _session(ctx, node, f"sessions[{index}]", zone)
        if session is None:
            continue
        if session.id in seen:
            ctx.fail(
                node,
                f"sessions[{index}].id",
                f'"{session.id}" is already used by the '
                f"session on line {seen[session.id]}; ids must be unique",
            )
            continue
        seen[session.id] = session.line
        sessions.append(session)
    if ctx.problems or event is None:
        raise ScheduleError(ctx.problems)
    far_future = dt.datetime.max.replace(tzinfo=UTC)

    def order(s: Session) -> tuple[dt.date, dt.datetime]:
        return (s.date, s.start or far_future)

    return Schedule(event, tuple(sorted(sessions, key=order)), source=file, text=text)


def load_schedule(path: str | Path) -> Schedule:
    """Load and validate a schedule file; raise ScheduleError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleError(
            [
                Problem(
                    str(path),
                    1,
                    "(file)",
                    "no such file; pass --schedule PATH or create schedule.yaml",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError([Problem(str(path), 1, "(file)", f"cannot read it: {exc}")]) from None
    return parse_schedule(text, str(path))
