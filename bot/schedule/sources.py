"""One entry point for every schedule, whatever its format: the format is told from the
content, so `--schedule`, the config's `schedule:`, a reload, a poll and a recorded version
all read the same way.

Formats: our schedule.yaml; the schedule.json of pretalx, frab and the C3VOC tools; the
schedule.xml of frab and pretalx; Sessionize's API JSON; iCalendar. An imported schedule is
recorded (Schedule.text) as an envelope holding the source and its overlay, so that a recorded
version parses again to the very schedule that was in force.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.schedule import frab_xml, icalendar_feed, pretalx_json, sessionize
from bot.schedule.imported import Imported, assemble, default_overlay_path
from bot.schedule.model import Schedule
from bot.schedule.overlay import Overlay, load_overlay, parse_overlay
from bot.schedule.problems import Problem, ScheduleError
from bot.schedule.yaml_loader import parse_schedule

YAML = "schedule.yaml"
VOC_JSON = pretalx_json.FORMAT
VOC_XML = frab_xml.FORMAT
SESSIONIZE = sessionize.FORMAT
ICALENDAR = icalendar_feed.FORMAT
# The key that marks a recorded imported schedule (Schedule.text of one).
_ENVELOPE = "summit-bot-imported-schedule"


@dataclass(frozen=True)
class Loaded:
    """A schedule with what `check` tells of it: the format read and what an overlay could add."""

    schedule: Schedule
    format: str
    hints: tuple[str, ...] = ()


def _decode(data: bytes | str, origin: str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save or export it as UTF-8"
        raise ScheduleError([Problem(origin, 1, "(file)", message)]) from None


def detect_format(text: str) -> str:
    """Which format a schedule's text is in, told from its first characters and keys."""
    head = text.lstrip()
    if head.startswith("<"):
        return VOC_XML
    if head[:15].upper().startswith("BEGIN:VCALENDAR"):
        return ICALENDAR
    if head.startswith(("{", "[")):
        try:
            data = json.loads(head)
        except ValueError:
            return VOC_JSON  # reported as the JSON it tries to be
        if isinstance(data, dict) and "schedule" in data:
            return VOC_JSON
        if sessionize.looks_like(data):
            return SESSIONIZE
        if isinstance(data, dict) and _ENVELOPE in data:
            return _ENVELOPE
        return VOC_JSON
    return YAML


def _json(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        raise ScheduleError(
            [Problem(origin, line, "(syntax)", f"not valid JSON: {exc}; check the export")]
        ) from None


def _envelope(text: str, origin: str) -> tuple[str, str, Overlay | None]:
    data = _json(text, origin)
    body = data.get(_ENVELOPE) if isinstance(data, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("source"), str):
        raise ScheduleError([Problem(origin, 1, "(file)", "a recorded schedule, damaged")])
    overlay_text = body.get("overlay")
    overlay_file = str(body.get("overlay_file") or "overlay.yaml")
    overlay = parse_overlay(overlay_text, overlay_file) if isinstance(overlay_text, str) else None
    return body["source"], str(body.get("origin") or origin), overlay


def _record(source: str, origin: str, overlay: Overlay | None) -> str:
    """The text a Schedule of an imported source keeps: the source and its overlay."""
    body = {
        "origin": origin,
        "source": source,
        "overlay": overlay.text if overlay is not None else None,
        "overlay_file": overlay.file if overlay is not None else None,
    }
    return json.dumps({_ENVELOPE: body}, ensure_ascii=False)


def read_source(data: bytes | str, *, origin: str, overlay: Overlay | None = None) -> Loaded:
    """The schedule in `data` with its format and the hints `check` prints."""
    text = _decode(data, origin)
    kind = detect_format(text)
    if kind == _ENVELOPE:
        source, recorded_origin, recorded_overlay = _envelope(text, origin)
        # A recorded version keeps the name it was read under: its default event name.
        return read_source(source, origin=recorded_origin, overlay=recorded_overlay)
    if kind == YAML:
        if overlay is not None:
            message = (
                "an overlay adds to imported schedules; a schedule.yaml says all of it "
                "itself: move these settings into the schedule file"
            )
            raise ScheduleError([Problem(overlay.file, 1, "(file)", message)])
        return Loaded(parse_schedule(text, origin), YAML)
    imported: Imported
    if kind == VOC_XML:
        imported = frab_xml.read(text, origin)
    elif kind == ICALENDAR:
        imported = icalendar_feed.read(text, origin)
    elif kind == SESSIONIZE:
        imported = sessionize.read(_json(text, origin), origin)
    else:
        imported = pretalx_json.read(_json(text, origin), origin)
    schedule = assemble(imported, overlay, _record(text, origin, overlay))
    return Loaded(schedule, kind, _hints(schedule, overlay))


def _hints(schedule: Schedule, overlay: Overlay | None) -> tuple[str, ...]:
    """What an overlay could add to an imported schedule."""
    hints: list[str] = []
    if not any(s.streams for s in schedule.sessions):
        hints.append("no livestream links: add streams per room in an overlay (streams:)")
    if overlay is None or not overlay.languages:
        hints.append("languages: English assumed; name them in an overlay (event.languages)")
    if overlay is None or overlay.name is None:
        hints.append("the event's name is the source's; name it per language (event.name)")
    return tuple(hints)


def parse_source(data: bytes | str, *, origin: str, overlay: Overlay | None = None) -> Schedule:
    """Parse a schedule in any recognized format; raise ScheduleError listing every problem."""
    return read_source(data, origin=origin, overlay=overlay).schedule


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        message = "no such file; pass --schedule PATH or create schedule.yaml"
        raise ScheduleError([Problem(str(path), 1, "(file)", message)]) from None
    except OSError as exc:
        raise ScheduleError([Problem(str(path), 1, "(file)", f"cannot read it: {exc}")]) from None


def find_overlay(location: str, overlay_path: str | None) -> Overlay | None:
    """The overlay named, else the one beside a local imported schedule where it exists."""
    if overlay_path:
        return load_overlay(overlay_path)
    default = Path(default_overlay_path(location))
    return load_overlay(default) if default.is_file() else None


def load_report(location: str | Path, overlay_path: str | None = None) -> Loaded:
    """A local schedule file read with its overlay, with its format and hints (`check`)."""
    path = Path(location)
    data = _read_file(path)
    text = _decode(data, str(path))
    overlay = None
    if detect_format(text) != YAML or overlay_path:
        overlay = find_overlay(str(path), overlay_path)
    return read_source(text, origin=str(path), overlay=overlay)


def load_source(location: str | Path, overlay_path: str | None = None) -> Schedule:
    """Load a local schedule file in any recognized format, with its overlay."""
    return load_report(location, overlay_path).schedule
