"""The overlay: what an imported schedule lacks, added by the organizer in a small YAML file.

An export from pretalx, frab, Sessionize or a calendar has talks, times and rooms, but not the
event's name in each language, the languages the bot speaks, the livestream links per room,
or which rooms to leave out. The overlay adds them. It is read as strictly as schedule.yaml:
unknown keys, wrong types and bad links are all reported at once with their lines.

    event:                       # every key optional
      id: conf26
      name: {en: "Conf 2026", zh-TW: "研討會 2026"}   # or one name: "Conf 2026"
      organizer: "Conf e.V."
      languages: [en, zh-TW]
      timezone: Europe/Berlin    # required for Sessionize, whose times carry no zone
      url: https://conf.example/
    streams:                     # per room: one link, or one per language
      Saal 1: https://stream.example/saal1
      Saal 2: {en: https://stream.example/s2-en, de: https://stream.example/s2-de}
    sessions:                    # per session id (as `check` lists them)
      abc123: {title: {en: "Opening"}, streams: https://..., service: true, exclude: false}
    exclude:
      rooms: [Hallway]
      tracks: [Sponsor]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import yaml

from bot.schedule.model import Text
from bot.schedule.problems import Problem, ScheduleError
from bot.schedule.yaml_loader import _ID_RE  # one id rule for every format
from bot.timezones import ZONE_NAMES
from bot.untrusted import clean_text
from bot.yaml_lines import YamlSyntaxError, compose, line_of

_LANG_EXAMPLE = "[en, zh-TW]"
# A link for every language: the key streams use when one link serves them all.
ANY_LANGUAGE = "*"


@dataclass(frozen=True)
class Placed:
    """A value and its overlay line, for errors found once the source is read."""

    value: str
    line: int


@dataclass(frozen=True)
class SessionOverride:
    """What the overlay changes of one imported session."""

    line: int
    title: Text | None = None
    streams: tuple[tuple[str, str], ...] | None = None
    service: bool | None = None
    exclude: bool = False


@dataclass(frozen=True)
class Overlay:
    """An overlay file, checked; every field optional (None or empty: keep the source's)."""

    file: str
    text: str = ""
    event_id: str | None = None
    name: Text | None = None
    organizer: Text | None = None
    languages: tuple[str, ...] = ()
    timezone: str | None = None
    url: str | None = None
    # room -> ((language or ANY_LANGUAGE, link), ...), with the line the room was written on
    streams: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    sessions: dict[str, SessionOverride] = field(default_factory=dict)
    exclude_rooms: tuple[Placed, ...] = ()
    exclude_tracks: tuple[Placed, ...] = ()


class _Reader:
    """Checks one overlay's nodes, collecting every problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ()

    def fail(self, node: yaml.Node | None, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(node), path, message))

    def mapping(
        self, node: yaml.Node, path: str, allowed: tuple[str, ...] | None
    ) -> dict[str, yaml.Node] | None:
        """A mapping's entries by key (duplicates and, unless `allowed` is None, unknown keys
        refused)."""
        if not isinstance(node, yaml.MappingNode):
            keys = ", ".join(allowed) if allowed else "names"
            self.fail(node, path, f"expected a mapping (keys: {keys})")
            return None
        entries: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = clean_text(str(key_node.value)).strip()
            if key in entries:
                self.fail(key_node, f"{path}.{key}", "duplicate key; keep one of them")
            elif allowed is not None and key not in allowed:
                self.fail(key_node, f"{path}.{key}", f"unknown key; allowed: {', '.join(allowed)}")
            else:
                entries[key] = value_node
        return entries

    def scalar(self, node: yaml.Node, path: str, example: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or str(node.value).strip() == "":
            self.fail(node, path, f"expected a value such as {example}")
            return None
        return clean_text(str(node.value)).strip()

    def flag(self, node: yaml.Node, path: str) -> bool | None:
        value = self.scalar(node, path, "true or false")
        if value is None:
            return None
        if value.lower() in ("true", "yes"):
            return True
        if value.lower() in ("false", "no"):
            return False
        self.fail(node, path, f'"{value}" is not true or false')
        return None

    def url(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path, "https://stream.example/room1")
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.fail(node, path, f'"{value}" is not an http(s) link; write e.g. https://...')
            return None
        return value

    def per_language(
        self, entries: dict[str, yaml.Node], path: str
    ) -> Iterator[tuple[str, yaml.Node]]:
        """The entries keyed by an event language; any other key is reported and skipped."""
        for lang, value_node in entries.items():
            if self.languages and lang not in self.languages:
                self.fail(
                    value_node,
                    f"{path}.{lang}",
                    f'"{lang}" is not one of event.languages ({", ".join(self.languages)})',
                )
                continue
            yield lang, value_node

    def text(self, node: yaml.Node, path: str) -> Text | None:
        """One text for every language ("Conf"), or one per language ({en: ..., de: ...})."""
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, path, '"Conf 2026"')
            return Text.neutral(value) if value else None
        entries = self.mapping(node, path, None)
        if entries is None:
            return None
        values: list[tuple[str, str]] = []
        for lang, value_node in self.per_language(entries, path):
            value = self.scalar(value_node, f"{path}.{lang}", "a text")
            if value is not None:
                values.append((lang, value))
        if not entries:
            self.fail(node, path, "expected one text per language: {en: ...}")
        return Text(tuple(values)) if values else None

    def streams(self, node: yaml.Node, path: str) -> tuple[tuple[str, str], ...] | None:
        """One link for every language, or one link per language."""
        if isinstance(node, yaml.ScalarNode):
            link = self.url(node, path)
            return ((ANY_LANGUAGE, link),) if link else None
        entries = self.mapping(node, path, None)
        if entries is None:
            return None
        links: list[tuple[str, str]] = []
        for lang, value_node in self.per_language(entries, path):
            link = self.url(value_node, f"{path}.{lang}")
            if link:
                links.append((lang, link))
        return tuple(links) if links else None

    def names(self, node: yaml.Node, path: str) -> tuple[Placed, ...]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, 'expected a list of names, e.g. ["Hallway"]')
            return ()
        placed = []
        for index, item in enumerate(node.value):
            value = self.scalar(item, f"{path}[{index}]", '"Hallway"')
            if value:
                placed.append(Placed(value, line_of(item)))
        return tuple(placed)


_EVENT_KEYS = ("id", "name", "organizer", "languages", "timezone", "url")
_SESSION_KEYS = ("title", "streams", "service", "exclude")


def _event(reader: _Reader, node: yaml.Node, fields: dict[str, object]) -> None:
    entries = reader.mapping(node, "event", _EVENT_KEYS)
    if entries is None:
        return
    # The languages first: the texts and links after them are checked against them.
    if "languages" in entries:
        langs_node = entries["languages"]
        langs: list[str] = []
        if not isinstance(langs_node, yaml.SequenceNode) or not langs_node.value:
            reader.fail(langs_node, "event.languages", f"expected a list, e.g. {_LANG_EXAMPLE}")
        else:
            for item in langs_node.value:
                lang = reader.scalar(item, "event.languages", "en")
                if lang is not None and lang in langs:
                    reader.fail(item, "event.languages", f'"{lang}" is listed twice')
                elif lang is not None:
                    langs.append(lang)
        reader.languages = tuple(langs)
        fields["languages"] = reader.languages
    if "id" in entries:
        value = reader.scalar(entries["id"], "event.id", "conf26")
        if value is not None and not _ID_RE.match(value):
            reader.fail(entries["id"], "event.id", f'"{value}" is not an id; use a-z, 0-9, - or _')
        elif value is not None:
            fields["event_id"] = value
    if "timezone" in entries:
        zone = reader.scalar(entries["timezone"], "event.timezone", "Europe/Berlin")
        if zone is not None and zone not in ZONE_NAMES:
            reader.fail(
                entries["timezone"],
                "event.timezone",
                f'"{zone}" is not an IANA time zone; write e.g. Europe/Berlin',
            )
        elif zone is not None:
            fields["timezone"] = zone
    for key in ("name", "organizer"):
        if key in entries:
            fields[key] = reader.text(entries[key], f"event.{key}")
    if "url" in entries:
        fields["url"] = reader.url(entries["url"], "event.url")


def _session(reader: _Reader, node: yaml.Node, path: str) -> SessionOverride | None:
    entries = reader.mapping(node, path, _SESSION_KEYS)
    if entries is None:
        return None
    title = reader.text(entries["title"], f"{path}.title") if "title" in entries else None
    streams = (
        reader.streams(entries["streams"], f"{path}.streams") if "streams" in entries else None
    )
    service = reader.flag(entries["service"], f"{path}.service") if "service" in entries else None
    exclude = reader.flag(entries["exclude"], f"{path}.exclude") if "exclude" in entries else None
    return SessionOverride(line_of(node), title, streams, service, bool(exclude))


def parse_overlay(text: str, file: str) -> Overlay:
    """Parse an overlay from YAML text; raise ScheduleError listing every problem."""
    try:
        root = compose(text, file)
    except YamlSyntaxError as exc:
        raise ScheduleError([exc.problem]) from None
    if root is None:
        return Overlay(file, text)
    reader = _Reader(file)
    entries = reader.mapping(root, "(top level)", ("event", "streams", "sessions", "exclude"))
    if entries is None:
        raise ScheduleError(reader.problems)
    fields: dict[str, object] = {}
    if "event" in entries:
        _event(reader, entries["event"], fields)
    streams: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = {}
    rooms_streams = (
        reader.mapping(entries["streams"], "streams", None) if "streams" in entries else {}
    )
    for room, node in (rooms_streams or {}).items():
        links = reader.streams(node, f"streams.{room}")
        if links:
            streams[room] = (line_of(node), links)
    sessions: dict[str, SessionOverride] = {}
    if "sessions" in entries:
        for sid, node in (reader.mapping(entries["sessions"], "sessions", None) or {}).items():
            override = _session(reader, node, f"sessions.{sid}")
            if override:
                sessions[sid] = override
    rooms: tuple[Placed, ...] = ()
    tracks: tuple[Placed, ...] = ()
    if "exclude" in entries:
        excluded = reader.mapping(entries["exclude"], "exclude", ("rooms", "tracks")) or {}
        if "rooms" in excluded:
            rooms = reader.names(excluded["rooms"], "exclude.rooms")
        if "tracks" in excluded:
            tracks = reader.names(excluded["tracks"], "exclude.tracks")
    if reader.problems:
        raise ScheduleError(reader.problems)
    return Overlay(
        file,
        text,
        event_id=_str(fields.get("event_id")),
        name=_text(fields.get("name")),
        organizer=_text(fields.get("organizer")),
        languages=reader.languages,
        timezone=_str(fields.get("timezone")),
        url=_str(fields.get("url")),
        streams=streams,
        sessions=sessions,
        exclude_rooms=rooms,
        exclude_tracks=tracks,
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: object) -> Text | None:
    return value if isinstance(value, Text) else None


def load_overlay(path: str | Path) -> Overlay:
    """Load and check an overlay file; raise ScheduleError naming file, line and field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "no such file; write the overlay there or leave the option out"
        raise ScheduleError([Problem(str(path), 1, "(file)", message)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScheduleError([Problem(str(path), 1, "(file)", f"cannot read it: {exc}")]) from None
    return parse_overlay(text, str(path))
