"""A schedule's history: how many times each session changed over the versions put in force."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import replace

from bot.schedule.model import Schedule, Session
from bot.schedule.problems import ScheduleError
from bot.schedule.sources import parse_source

# Recorded versions parsed once per process: a history is read again for every calendar.
_PARSED_VERSIONS = 256


@functools.lru_cache(maxsize=_PARSED_VERSIONS)
def _recorded(text: str) -> Schedule | None:
    """A recorded version, parsed; None where this release reads it no more."""
    try:
        return parse_source(text, origin="(recorded)")
    except ScheduleError:
        return None


def _as_published(session: Session) -> Session:
    """The session without where it sits in its file: a session above it is no change to it."""
    return replace(session, line=0)


def change_counts(recorded: Iterable[str], current: Schedule) -> dict[str, int]:
    """For each session of `current`, how many times it changed over the `recorded` schedule
    texts (oldest first) and `current` after them: 0 for one as it first appeared.

    A version that is the same as the one before it (a comment edited, another session moved)
    is no change to a session; a version this release cannot read is passed over.
    """
    versions = [v for v in map(_recorded, recorded) if v is not None]
    last: dict[str, Session] = {}
    counts: dict[str, int] = {}
    for version in (*versions, current):
        for session in version.sessions:
            now = _as_published(session)
            before = last.get(session.id)
            if before is None:
                counts.setdefault(session.id, 0)
            elif before != now:
                counts[session.id] += 1
            last[session.id] = now
    return {s.id: counts[s.id] for s in current.sessions}
