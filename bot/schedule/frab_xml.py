"""frab/pretalx schedule XML: read into an Imported schedule."""

from __future__ import annotations

from typing import Any

from bot.schedule.imported import Imported
from bot.schedule.problems import Problem, ScheduleError

FORMAT = "frab/pretalx schedule XML"


def looks_like(data: Any) -> bool:
    """Whether parsed JSON is in this format."""
    return False


def read(data: Any, file: str) -> Imported:
    """The talks of the source."""
    raise ScheduleError([Problem(file, 1, "(file)", f"{FORMAT} is not read yet")])
