"""The schedule.xml of frab and pretalx (the C3VOC XSD), read with defusedxml: a file that
declares entities (a "billion laughs") or fetches external ones is refused, never expanded.

Each `<event>` is read as schedule.json's events are (pretalx_json.EventReader), so both
formats take times, lengths and persons the same way; problems name the event's line.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from bot.schedule.imported import Imported, Talk, http_link, parse_date, parse_datetime, text_of
from bot.schedule.pretalx_json import EventReader
from bot.schedule.problems import Problem, ScheduleError

FORMAT = "frab/pretalx schedule XML"
_SHAPE = "expected <schedule> with <conference> and <day> elements (the C3VOC schedule.xml)"


class _LineBuilder(ET.TreeBuilder):
    """A tree builder that notes the line each element starts on, for problems."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        if self.parser is not None:
            # The pure-Python parser defusedxml extends keeps its expat parser here.
            self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        return element


def _parse(text: str, file: str) -> tuple[ET.Element, dict[int, int]]:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=False, forbid_entities=True)
    builder.parser = parser
    try:
        parser.feed(text)
        root = parser.close()
    except DefusedXmlException as exc:
        line = builder.parser.parser.CurrentLineNumber if builder.parser else 1
        message = (
            f"refused: the file declares or fetches XML entities ({type(exc).__name__}); "
            "a schedule export has none: export it again from pretalx or frab"
        )
        raise ScheduleError([Problem(file, line, "(file)", message)]) from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        message = f"not well-formed XML ({exc}); check the export"
        raise ScheduleError([Problem(file, line, "(syntax)", message)]) from None
    for element in root.iter():
        # An export with a default namespace names its elements as the others do.
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root, builder.lines


def _child(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return text_of(found.text) if found is not None else None


def _event(element: ET.Element) -> dict[str, Any]:
    """An <event> as the dict schedule.json would give for it."""
    event: dict[str, Any] = {
        field: _child(element, field)
        for field in (
            "date",
            "start",
            "duration",
            "room",
            "title",
            "slug",
            "track",
            "type",
            "language",
            "abstract",
            "description",
        )
    }
    event["id"] = element.get("id")
    event["guid"] = element.get("guid")
    event["code"] = element.get("code") or _child(element, "code")  # pretalx
    event["persons"] = [{"name": p.text} for p in element.iterfind("persons/person")]
    return event


def read(text: str, file: str) -> Imported:
    """The talks of a schedule.xml."""
    root, lines = _parse(text, file)
    if root.tag != "schedule":
        raise ScheduleError([Problem(file, lines.get(id(root), 1), f"<{root.tag}>", _SHAPE)])
    conference = root.find("conference")
    zone = _child(conference, "time_zone_name") if conference is not None else None
    reader = EventReader(file, zone_known=zone is not None)
    talks: list[Talk] = []
    for d, day in enumerate(root.iterfind("day")):
        date = parse_date(day.get("date"))
        day_start: dt.datetime | None = parse_datetime(day.get("start"))
        for room in day.iterfind("room"):
            name = text_of(room.get("name"))
            for element in room.iterfind("event"):
                reader.line = lines.get(id(element), 1)
                ident = element.get("guid") or element.get("id") or "?"
                path = f'day[{d}]/room[@name="{name}"]/event[{ident}]'
                talk = reader.talk(_event(element), path, room=name, day=date, day_start=day_start)
                if talk is not None:
                    talks.append(talk)
    if reader.problems:
        raise ScheduleError(reader.problems)
    return Imported(
        format=FORMAT,
        file=file,
        title=_child(conference, "title") if conference is not None else None,
        acronym=_child(conference, "acronym") if conference is not None else None,
        timezone=zone,
        url=http_link(_child(conference, "base_url")) if conference is not None else None,
        talks=tuple(talks),
    )
