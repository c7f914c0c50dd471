"""Sessionize's API JSON: the "All" endpoint (sessions, speakers, categories and rooms by id)
and the "Sessions" endpoints (the list, by group, and the grid, by day and room).

Sessionize writes times without a zone ("2026-10-24T10:00:00"), so the event's zone must come
from the overlay. Service sessions (`isServiceSession`: breaks, registration) are kept but not
offered for reminders; plenum sessions, listed once per room in the grid, are read once.
"""

from __future__ import annotations

from typing import Any

from babel import Locale

from bot.schedule.imported import Imported, Talk, http_link, parse_datetime, text_of
from bot.schedule.problems import Problem, ScheduleError

FORMAT = "Sessionize API JSON"
# The category whose items name a session's track, and the one that names its language.
_TRACK_TITLES = frozenset({"track", "tracks", "topic", "topics", "stream"})
_LANGUAGE_TITLES = frozenset({"language", "languages", "session language", "sprache"})
# "English" -> "en": Sessionize's language categories are free text, mostly English names.
_LANGUAGE_CODES = {name.lower(): code for code, name in Locale("en").languages.items()}


def looks_like(data: Any) -> bool:
    """Whether parsed JSON is one of Sessionize's: All, the Sessions list or the grid."""
    if isinstance(data, dict):
        return isinstance(data.get("sessions"), list) and any(
            key in data for key in ("speakers", "rooms", "categories")
        )
    if isinstance(data, list) and data and isinstance(data[0], dict):
        first = data[0]
        return ("sessions" in first and ("groupName" in first or "groupId" in first)) or (
            "rooms" in first and ("timeSlots" in first or "date" in first)
        )
    return False


def _language(name: str | None) -> str | None:
    if name is None:
        return None
    lowered = name.lower()
    if lowered in _LANGUAGE_CODES.values():
        return lowered
    return _LANGUAGE_CODES.get(lowered)


class _Reader:
    """Reads one Sessionize document's sessions, collecting every problem."""

    def __init__(self, file: str, data: Any) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.rooms: dict[str, str] = {}  # id -> name (the All endpoint names them by id)
        self.speakers: dict[str, str] = {}
        self.items: dict[str, tuple[str, str]] = {}  # category item id -> (category, name)
        self.seen: set[str] = set()
        if isinstance(data, dict):
            self._index(data)

    def _index(self, data: dict[str, Any]) -> None:
        for room in data.get("rooms") or []:
            if isinstance(room, dict) and text_of(room.get("id")) and text_of(room.get("name")):
                self.rooms[str(room["id"])] = str(text_of(room["name"]))
        for speaker in data.get("speakers") or []:
            if isinstance(speaker, dict) and text_of(speaker.get("id")):
                full = text_of(speaker.get("fullName")) or " ".join(
                    filter(None, (text_of(speaker.get(k)) for k in ("firstName", "lastName")))
                )
                if full:
                    self.speakers[str(speaker["id"])] = full
        for category in data.get("categories") or []:
            if not isinstance(category, dict):
                continue
            title = (text_of(category.get("title")) or "").lower()
            for item in category.get("items") or []:
                if (
                    isinstance(item, dict)
                    and text_of(item.get("id"))
                    and text_of(item.get("name"))
                ):
                    self.items[str(item["id"])] = (title, str(text_of(item["name"])))

    def _categories(self, session: dict[str, Any]) -> list[tuple[str, str]]:
        """(category title, item name) of a session, whichever way the endpoint gives them."""
        found = [
            self.items[str(i)] for i in session.get("categoryItems") or [] if str(i) in self.items
        ]
        for category in session.get("categories") or []:
            if not isinstance(category, dict):
                continue
            title = (text_of(category.get("name")) or "").lower()
            for item in category.get("categoryItems") or []:
                name = text_of(item.get("name")) if isinstance(item, dict) else None
                if name:
                    found.append((title, name))
        return found

    def _speakers(self, session: dict[str, Any]) -> tuple[str, ...]:
        names: list[str] = []
        for speaker in session.get("speakers") or []:
            if isinstance(speaker, dict):
                name = text_of(speaker.get("name")) or self.speakers.get(str(speaker.get("id")))
            else:
                name = self.speakers.get(str(speaker))
            if name:
                names.append(name)
        return tuple(names)

    def talk(self, session: Any, path: str, room: str | None = None) -> Talk | None:
        """A session's talk; None for one read already (plenum) or after noting a problem."""
        if not isinstance(session, dict):
            self.fail(path, "expected a session object with id, title, startsAt")
            return None
        key = text_of(session.get("id"))
        if key is None:
            self.fail(f"{path}.id", "missing; a session needs its Sessionize id")
            return None
        if key in self.seen:
            return None
        self.seen.add(key)
        start = parse_datetime(session.get("startsAt"))
        if start is None and session.get("startsAt") is not None:
            value = session.get("startsAt")
            self.fail(f"{path}.startsAt", f'"{value}" is not a time; e.g. "2026-10-24T10:00:00"')
            return None
        end = parse_datetime(session.get("endsAt"))
        categories = self._categories(session)
        track = next((n for t, n in categories if t in _TRACK_TITLES), None)
        language = next((_language(n) for t, n in categories if t in _LANGUAGE_TITLES), None)
        room_name = text_of(session.get("room")) or self.rooms.get(str(session.get("roomId")))
        live = http_link(session.get("liveUrl"))
        return Talk(
            key=key,
            title=text_of(session.get("title")) or key,
            where=path,
            start=start,
            end=end,
            abstract=text_of(session.get("description")),
            room=room_name or room,
            track=track,
            language=language,
            persons=self._speakers(session),
            service=bool(session.get("isServiceSession")),
            links=(live,) if live else (),
        )

    def fail(self, path: str, message: str) -> None:
        """Note a problem, named by its JSON path."""
        self.problems.append(Problem(self.file, 1, path, message))


def read(data: Any, file: str) -> Imported:
    """The talks of a Sessionize document."""
    reader = _Reader(file, data)
    found: list[Talk | None] = []
    if isinstance(data, dict):  # All
        found = [reader.talk(s, f"sessions[{i}]") for i, s in enumerate(data["sessions"])]
    else:
        for g, group in enumerate(data):
            if not isinstance(group, dict):
                reader.fail(f"[{g}]", "expected a group or a day object")
                continue
            for i, session in enumerate(group.get("sessions") or []):  # the list, by group
                found.append(reader.talk(session, f"[{g}].sessions[{i}]"))
            for r, room in enumerate(group.get("rooms") or []):  # the grid, by day and room
                if not isinstance(room, dict):
                    continue
                name = text_of(room.get("name"))
                for i, session in enumerate(room.get("sessions") or []):
                    found.append(reader.talk(session, f"[{g}].rooms[{r}].sessions[{i}]", name))
    if reader.problems:
        raise ScheduleError(reader.problems)
    return Imported(
        format=FORMAT,
        file=file,
        talks=tuple(t for t in found if t is not None),
        zone_required=True,
    )
