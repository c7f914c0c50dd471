"""Track and room subscriptions: the marker a subscription stores, and a typed name matched.

A viewer who types `/subscribe track:Security` follows the track itself, not the talks it
holds today: the subscriptions table stores the marker "track:security" beside session ids
(which never hold a colon, so the two cannot collide), and every audience query of a talk
asks for its id, "*" and its track's and room's markers. A talk added to the track later,
or moved into it, reaches the track's subscribers with no further write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from rapidfuzz import fuzz, process

from bot.schedule import Session
from bot.timezones.folding import fold

TRACK: Final = "track"
ROOM: Final = "room"
KINDS: Final = (TRACK, ROOM)
MARKER_MAX = 64  # the subscriptions table's session_id column


def marker(kind: str, name: str) -> str:
    """The stored form of a subscription to a track or a room: "track:data science"."""
    return f"{kind}:{fold(name)}"[:MARKER_MAX]


def session_markers(session: Session | None) -> tuple[str, ...]:
    """The markers whose subscribers follow this talk: its track's and its room's."""
    if session is None:
        return ()
    found = []
    if session.track:
        found.append(marker(TRACK, session.track))
    if session.room:
        found.append(marker(ROOM, session.room))
    return tuple(found)


def markers_of(sessions: Iterable[Session | None]) -> tuple[str, ...]:
    """The markers of several versions of a talk (a moved talk's old and new track)."""
    return tuple(dict.fromkeys(m for s in sessions for m in session_markers(s)))


def split_marker(text: str) -> tuple[str, str] | None:
    """ "track:security" → ("track", "security"); None for a session id or "*"."""
    kind, colon, key = text.partition(":")
    return (kind, key) if colon and kind in KINDS and key else None


def parse_group(typed: str) -> tuple[str, str] | None:
    """What a viewer typed as a group: "track:Security", "Track: Data Science", "room:Hall A"
    → (kind, name as typed); None when it names no track or room."""
    head, colon, rest = typed.strip().partition(":")
    kind = head.strip().casefold()
    if not colon or kind not in KINDS:
        return None
    return kind, " ".join(rest.split())


def match_name(typed: str, names: Sequence[str]) -> str | None:
    """The name `typed` means, ignoring case and accents: an exact match, else the one name
    it begins or is contained in; None when none or several would fit."""
    key = fold(typed)
    if not key:
        return None
    folded = {name: fold(name) for name in names}
    for name, value in folded.items():
        if value == key:
            return name
    for test in (str.startswith, str.__contains__):
        hits = [name for name, value in folded.items() if test(value, key)]
        if len(hits) == 1:
            return hits[0]
    return None


def close_names(typed: str, names: Sequence[str], *, limit: int = 5) -> list[str]:
    """The names closest to a typo ("Securty" → Security), best first."""
    folded = [fold(name) for name in names]
    found = process.extract(fold(typed), folded, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    return [names[index] for _, _, index in found]
